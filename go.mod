module github.com/barrage/barrage

go 1.26.8

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/ohler55/ojg v1.28.5
	go.yaml.in/yaml/v3 v3.0.6
	pgregory.net/rapid v1.3.0
)
