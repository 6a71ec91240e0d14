package vmtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStart pushes a sample, reads it back, and reads it again after a
// restart on the same data folder.
func TestStart(t *testing.T) {
	vm := Start(t)
	ts := time.Now().Add(-time.Minute).UnixMilli()
	resp, err := http.Post(vm.URL+"/api/v1/import/prometheus", "text/plain", strings.NewReader(fmt.Sprintf("x_total{a=\"b\"} 3 %d\n", ts)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("import: %s %s", resp.Status, b)
	}
	ctx := context.Background()
	var got []Sample
	for i := 0; i < 100; i++ {
		if got, err = vm.Query(ctx, "x_total", time.Now()); len(got) > 0 || err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || len(got) != 1 || got[0].Value != 3 || got[0].Metric["a"] != "b" {
		ex, _ := vm.Export(ctx, `{__name__!=""}`)
		t.Fatalf("query x_total: %v, %v; stored: %s\n%s", got, err, ex, vm.Output())
	}
	vm.Stop()
	vm.Restart(t)
	if got, err = vm.Query(ctx, "x_total", time.Now()); err != nil || len(got) != 1 {
		t.Fatalf("after a restart: %v, %v", got, err)
	}
}
