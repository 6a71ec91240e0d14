// Package scenario is the scenario model: the document a user writes, its
// validation, and the Plan it compiles to for internal/engine. It is part of
// the pure core: no Temporal, no database, no HTTP server.
//
// The main types:
//
//   - Scenario (model.go): the document, read from YAML (the CLI) or JSON (the
//     API) with the same field names.
//   - Plan and PlanStep (plan.go): a validated scenario compiled for
//     execution: templates, checks, extractors and feeders compiled,
//     variables given slots, the load profile built.
//   - Template (template.go): the {{ … }} language of URLs, headers and
//     bodies; CompiledCheck and Extractor (check.go); Threshold
//     (threshold.go), a pass/fail condition on the run's metrics.
//   - Errors (decode.go): every problem found, each naming its field's path
//     and line, for a user to fix them all at once.
//
// To use it:
//
//  1. Read a scenario: LoadFile for a file (it also reads the feeder files
//     it names, relative to it), ParseYAML or ParseJSON for bytes. Each
//     validates the whole document; use AsErrors to list the problems.
//  2. Compile it: plan, err := scenario.Compile(s).
//  3. Run the plan: engine.New(engine.Config{Plan: plan, BaseURL: …}) runs
//     one shard of it; reports names the steps from it.
//  4. Before storing or showing a scenario's document, pass it through
//     RedactedYAML: secrets (tokens, passwords, keys) are hidden.
package scenario
