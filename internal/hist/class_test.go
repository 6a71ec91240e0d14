package hist

import (
	"encoding/json"
	"testing"
)

func TestErrorClassNames(t *testing.T) {
	tests := []struct {
		class ErrorClass
		name  string
	}{
		{class: ClassNone, name: ""},
		{class: ClassTimeout, name: "timeout"},
		{class: ClassRefused, name: "refused"},
		{class: ClassReset, name: "reset"},
		{class: ClassDNS, name: "dns"},
		{class: ClassTLS, name: "tls"},
		{class: ClassCheckFailed, name: "check_failed"},
		{class: ClassHTTP4xx, name: "http_4xx"},
		{class: ClassHTTP5xx, name: "http_5xx"},
		{class: ClassOther, name: "other"},
		{class: ClassBlocked, name: "blocked"},
	}
	if len(tests) != NumClasses {
		t.Fatalf("table covers %d classes, NumClasses is %d", len(tests), NumClasses)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.class.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
			got, err := ParseErrorClass(tt.name)
			if err != nil || got != tt.class {
				t.Errorf("ParseErrorClass(%q) = %v, %v; want %v", tt.name, got, err, tt.class)
			}
		})
	}
}

func TestErrorClassInvalid(t *testing.T) {
	if _, err := ParseErrorClass("Timeout"); err == nil {
		t.Error("ParseErrorClass accepted a differently cased name")
	}
	bad := ErrorClass(NumClasses)
	if bad.Valid() || bad.String() != "ErrorClass(11)" {
		t.Errorf("ErrorClass(11): Valid %v, String %q", bad.Valid(), bad.String())
	}
	if _, err := bad.MarshalText(); err == nil {
		t.Error("MarshalText accepted an undefined class")
	}
}

func TestErrorClassJSON(t *testing.T) {
	in := map[ErrorClass]uint64{ClassTimeout: 2, ClassHTTP5xx: 1}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"http_5xx":1,"timeout":2}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var out map[ErrorClass]uint64
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[ClassTimeout] != 2 || out[ClassHTTP5xx] != 1 {
		t.Errorf("round trip = %v", out)
	}
}
