package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPI is the OpenAPI 3 description of every route; a test keeps it true.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openAPI)
}
