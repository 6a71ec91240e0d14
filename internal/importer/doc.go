// Package importer turns recordings and API descriptions into scenarios:
// a HAR file (a browser's or a proxy's recording) into the requests it
// holds, and an OpenAPI document into a smoke test of its operations.
//
// Usage:
//
//  1. Read the input and call HAR(data, HAROptions{...}) or
//     OpenAPI(data, OpenAPIOptions{...}).
//  2. The Result holds a scenario.Scenario that passes scenario.Compile,
//     and Notes: what was left out or guessed, which the YAML output
//     carries as comments.
//  3. Write it with Result.YAML.
//
// Step URLs are paths, so that `barrage run --target URL` points the whole
// scenario at any server; where the recording or the document was made is
// said in the description. Bad input (not JSON or YAML, not a HAR or an
// OpenAPI document, nothing to import) is an error that names what is
// wrong; nothing is written.
package importer
