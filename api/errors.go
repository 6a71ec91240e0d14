package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/wire"
)

// apiError is the body of every error: {"error": {"code", "message", "field"}}.
type apiError = wire.APIError

func fail(c *gin.Context, status int, code, field, format string, args ...any) {
	c.AbortWithStatusJSON(status, gin.H{"error": apiError{Code: code, Message: fmt.Sprintf(format, args...), Field: field}})
}

// failErr maps an error from below to its answer.
func failErr(c *gin.Context, err error, what string) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, store.ErrNotFound):
		fail(c, http.StatusNotFound, "not_found", "", "%s not found", what)
	case errors.Is(err, store.ErrConflict):
		fail(c, http.StatusConflict, "conflict", "", "%s: %v", what, err)
	case errors.As(err, &tooLarge):
		fail(c, http.StatusRequestEntityTooLarge, "too_large", "", "request body is larger than %d bytes", tooLarge.Limit)
	default:
		fail(c, http.StatusInternalServerError, "internal", "", "%s: %v", what, err)
	}
}

// failScenario answers a scenario that does not validate: 422 naming the
// first bad field, with every problem in the message.
func failScenario(c *gin.Context, err error) {
	if es, ok := scenario.AsErrors(err); ok && len(es) > 0 {
		code := http.StatusUnprocessableEntity
		if es[0].Path == "" {
			code = http.StatusBadRequest // not even JSON
		}
		fail(c, code, "invalid_scenario", es[0].Path, "%v", err)
		return
	}
	fail(c, http.StatusUnprocessableEntity, "invalid_scenario", "", "%v", err)
}

// readBody reads the whole body, mapping an oversized one to 413.
func readBody(c *gin.Context) ([]byte, bool) {
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		failErr(c, err, "read body")
		return nil, false
	}
	return b, true
}

// bindJSON decodes a JSON body strictly: unknown fields are errors.
func bindJSON(c *gin.Context, out any) bool {
	b, ok := readBody(c)
	if !ok {
		return false
	}
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		field := ""
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			field = ute.Field
		}
		if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
			field = m[1]
		}
		fail(c, http.StatusBadRequest, "malformed_json", field, "malformed JSON: %v", err)
		return false
	}
	// One document only: `{"a":1} {"b":2}` or `{…}garbage` is refused
	// rather than half read.
	if _, err := dec.Token(); err != io.EOF {
		fail(c, http.StatusBadRequest, "malformed_json", "", "malformed JSON: data after the end of the JSON value at offset %d", dec.InputOffset())
		return false
	}
	return true
}

var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

func pathID(c *gin.Context) (string, bool) {
	id := c.Param("id")
	if !service.ValidID(id) {
		fail(c, http.StatusBadRequest, "bad_id", "id", "%q is not a valid ID", id)
		return "", false
	}
	return id, true
}

// failService answers an error of the run service: a refusal with its
// status and code, anything else as failErr does.
func failService(c *gin.Context, err error, what string) {
	var se *service.Error
	if !errors.As(err, &se) {
		failErr(c, err, what)
		return
	}
	status := map[service.Kind]int{
		service.BadRequest: http.StatusBadRequest, service.NotFound: http.StatusNotFound, service.Conflict: http.StatusConflict,
		service.Invalid: http.StatusUnprocessableEntity, service.Unavailable: http.StatusServiceUnavailable,
	}[se.Kind]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	fail(c, status, se.Code, se.Field, "%s", se.Message)
}
