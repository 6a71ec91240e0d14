package service

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"
	"unicode/utf8"

	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
)

// MaxSecretSize bounds a secret's value.
const MaxSecretSize = 64 << 10

// Secrets keeps the values scenarios read as {{ secret.NAME }}, sealed
// (AES-256-GCM, the name bound in as associated data) with the server's
// key: the database holds no value in clear, and a sealed value moved to
// another name does not open.
type Secrets struct {
	store  store.Store
	access *Access
	aead   cipher.AEAD // nil: the server has no key, and no secrets
}

// NewSecrets returns the secret service; key nil: no key (setting a secret
// and starting a run that reads one are refused, with why).
func NewSecrets(st store.Store, access *Access, key []byte) (*Secrets, error) {
	s := &Secrets{store: st, access: access}
	if key == nil {
		return s, nil
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key: want 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if s.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return s, nil
}

// ReadKeyFile reads a 32-byte key: raw, 64 hex digits, or base64 (e.g.
// `openssl rand -hex 32 > key`).
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- the key file the operator names with --secret-key-file
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	if len(b) == 32 {
		return b, nil
	}
	text := bytes.TrimSpace(b)
	if k, err := hex.DecodeString(string(text)); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(string(text)); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, fmt.Errorf("secret key file %s: want 32 bytes, raw, as 64 hex digits or in base64 (openssl rand -hex 32)", path)
}

const sealVersion = 1

func aad(name string) []byte { return []byte("barrage secret\x00" + name) }

func (s *Secrets) seal(name, value string) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{sealVersion}, nonce...)
	return s.aead.Seal(out, nonce, []byte(value), aad(name)), nil
}

func (s *Secrets) open(name string, sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != sealVersion {
		return "", fmt.Errorf("secret %s: not a sealed value", name)
	}
	v, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad(name))
	if err != nil {
		return "", fmt.Errorf("secret %s does not open with this server's key (was it set under another --secret-key-file?)", name)
	}
	return string(v), nil
}

func (s *Secrets) needKey() error {
	if s.aead == nil {
		return refuse(Invalid, "no_secret_key", "", "this server keeps no secrets: start it with --secret-key-file")
	}
	return nil
}

// Set stores (or replaces) a secret; by is who, for the audit log, which
// records the change but never the value.
func (s *Secrets) Set(ctx context.Context, name, value, by string) error {
	if err := s.needKey(); err != nil {
		return err
	}
	if !scenario.ValidSecretName(name) {
		return refuse(Invalid, "invalid_field", "name", "secret name %q: want letters, digits and _ (at most 64, not starting with a digit)", name)
	}
	if len(value) > MaxSecretSize || !utf8.ValidString(value) {
		return refuse(Invalid, "invalid_field", "value", "a secret's value is UTF-8 text of at most %d bytes", MaxSecretSize)
	}
	sealed, err := s.seal(name, value)
	if err != nil {
		return fmt.Errorf("seal secret %s: %w", name, err)
	}
	if err := s.store.PutSecret(ctx, name, sealed, by, time.Time{}); err != nil {
		return err
	}
	s.access.Audit(ctx, by, "secret.set", name, "")
	return nil
}

// Delete removes a secret.
func (s *Secrets) Delete(ctx context.Context, name, by string) error {
	if err := s.store.DeleteSecret(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return refuse(NotFound, "not_found", "name", "no secret is named %s", name)
		}
		return err
	}
	s.access.Audit(ctx, by, "secret.delete", name, "")
	return nil
}

// List lists the secrets' names, never their values.
func (s *Secrets) List(ctx context.Context) ([]store.Secret, error) { return s.store.ListSecrets(ctx) }

// Check refuses a run that reads secrets this server cannot give it.
func (s *Secrets) Check(ctx context.Context, plan *scenario.Plan) error {
	if len(plan.Secrets) == 0 {
		return nil
	}
	if err := s.needKey(); err != nil {
		return err
	}
	for _, sec := range plan.Secrets {
		if _, err := s.store.GetSecret(ctx, sec.Name); errors.Is(err, store.ErrNotFound) {
			return refuse(Invalid, "secret_not_set", "", "the scenario reads {{ secret.%s }}, which is not set (barrage secrets set %s)", sec.Name, sec.Name)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// Values opens the secrets a plan reads, for its workers.
func (s *Secrets) Values(ctx context.Context, plan *scenario.Plan) (map[string]string, error) {
	out := make(map[string]string, len(plan.Secrets))
	if len(plan.Secrets) == 0 {
		return out, nil
	}
	if err := s.needKey(); err != nil {
		return nil, err
	}
	for _, sec := range plan.Secrets {
		sealed, err := s.store.GetSecret(ctx, sec.Name)
		if err != nil {
			return nil, err
		}
		if out[sec.Name], err = s.open(sec.Name, sealed); err != nil {
			return nil, err
		}
	}
	return out, nil
}
