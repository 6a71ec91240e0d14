package devserver_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/barrage/barrage/internal/devserver"
)

func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// 1. Start an in-memory server on a free port.
	srv, err := devserver.Start(ctx, devserver.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		fmt.Println("start:", err)
		return
	}
	defer func() { _ = srv.Stop() }() // 5. stop it last

	// 2. Point a client at it.
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  srv.FrontendAddr(),
		Namespace: srv.Namespace(),
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()

	resp, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: srv.Namespace()})
	if err != nil {
		fmt.Println("describe:", err)
		return
	}
	fmt.Println("namespace:", resp.GetNamespaceInfo().GetName())
	// Output: namespace: default
}
