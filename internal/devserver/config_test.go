package devserver

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestIsEmptyDB(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // suffix after the database path → content
		want  bool
	}{
		{name: "missing", files: nil, want: true},
		{name: "empty file", files: map[string]string{"": ""}, want: true},
		{name: "data in the file", files: map[string]string{"": "SQLite format 3"}, want: false},
		{name: "data only in the WAL", files: map[string]string{"": "", "-wal": "frames"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "temporal.db")
			for suffix, content := range tt.files {
				if err := os.WriteFile(path+suffix, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := isEmptyDB(path)
			if err != nil || got != tt.want {
				t.Fatalf("isEmptyDB = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestNamespaceNames(t *testing.T) {
	got := namespaceNames("default", []string{"a", "", "default", "a", "b"})
	if want := []string{"default", "a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("namespaceNames = %v, want %v", got, want)
	}
}
