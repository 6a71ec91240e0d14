package reports

import (
	"encoding/xml"
	"fmt"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       float64         `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit renders the report as JUnit XML for CI: one test case for the run's
// status and one per threshold.
func JUnit(r *Report) ([]byte, error) {
	suite := junitSuite{
		Name: "barrage." + r.Scenario, Time: r.EndedAt.Sub(r.StartedAt).Seconds(),
		Timestamp: r.StartedAt.Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{
			{Name: "run_id", Value: r.RunID}, {Name: "status", Value: r.Status},
			{Name: "requests", Value: fmt.Sprint(r.Totals.Requests)}, {Name: "error_rate", Value: fmt.Sprint(r.Totals.ErrorRate)},
			{Name: "p95_ms", Value: fmt.Sprint(r.LatencyMS.P95)}, {Name: "rps", Value: fmt.Sprint(r.Totals.RPS)},
		},
	}
	status := junitCase{Name: "run completed", ClassName: "barrage.run"}
	if r.Status != "completed" && r.Status != "running" {
		status.Failure = &junitFailure{Message: "run " + r.Status, Type: "run", Text: fmt.Sprintf("run %s ended %s", r.RunID, r.Status)}
	}
	suite.Cases = append(suite.Cases, status)
	for _, th := range r.Thresholds {
		name := th.Expression
		if tag := th.Tag(); tag != "" {
			name += " [" + tag + "]"
		}
		tc := junitCase{Name: name, ClassName: "barrage.thresholds"}
		switch {
		case th.NoBaseline:
			tc.Skipped = &junitSkipped{Message: th.Error}
		case !th.Passed:
			msg := fmt.Sprintf("actual %g, limit %g", th.Actual, th.Limit)
			if th.Error != "" {
				msg = th.Error
			}
			tc.Failure = &junitFailure{Message: msg, Type: "threshold", Text: name + ": " + msg}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	for _, tc := range suite.Cases {
		suite.Tests++
		if tc.Failure != nil {
			suite.Failures++
		}
		if tc.Skipped != nil {
			suite.Skipped++
		}
	}
	doc := junitSuites{Name: "barrage", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("junit: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}
