package cvss

import (
	"errors"
	"fmt"
	"strings"

	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// Result is a scored base vector.
type Result struct {
	// Version is "3.1" or "4.0".
	Version string `json:"version"`
	// Vector is canonical: with its CVSS:x.y prefix, base metrics in the
	// specification's order, upper case.
	Vector string `json:"vector"`
	// Score is the base score, 0.0 to 10.0 with one decimal.
	Score float64 `json:"score"`
	// Severity is None, Low, Medium, High or Critical.
	Severity string `json:"severity"`
	// Metrics are the base metrics in order, with their names and one-line
	// meaning, for explanations.
	Metrics []Metric `json:"metrics"`
	// CalculatorURL opens FIRST's calculator with the vector filled in.
	CalculatorURL string `json:"calculator_url"`
}

// Metric is one base metric of a scored vector.
type Metric struct {
	Key       string `json:"key"`        // "AV"
	Name      string `json:"name"`       // "Attack Vector"
	Value     string `json:"value"`      // "N"
	ValueName string `json:"value_name"` // "Network"
	// Help is what the value means, in one line.
	Help string `json:"help"`
}

// Explain is the metric in one line: "Attack Vector: Network — exploitable
// over the network, up to the whole internet".
func (m Metric) Explain() string {
	return m.Name + ": " + m.ValueName + " — " + m.Help
}

// ErrInvalidVector is matched (errors.Is) by every error about the vector
// itself, as opposed to a failure of the scoring library.
var ErrInvalidVector = errors.New("invalid CVSS vector")

// VectorError says what is wrong with a vector. Its message names the bad
// metric or value, so it can be shown to a person as it is.
type VectorError struct {
	// Metric is the metric at fault ("AV"), empty when the problem is not
	// about one metric (an unsupported version, a malformed part).
	Metric string
	// Value is the offending value, when there is one.
	Value string
	msg   string
}

func (e *VectorError) Error() string { return e.msg }

// Unwrap makes errors.Is(err, ErrInvalidVector) hold.
func (e *VectorError) Unwrap() error { return ErrInvalidVector }

func vectorErr(metric, value, format string, args ...any) *VectorError {
	return &VectorError{Metric: metric, Value: value, msg: fmt.Sprintf(format, args...)}
}

// Score parses, validates and scores a CVSS 3.1 or 4.0 base vector.
//
// Surrounding white space is ignored, and so is letter case. A vector
// without its "CVSS:x.y/" prefix is read as 3.1 unless it has metrics only
// 4.0 has (AT, VC, ...). Metrics may come in any order; Result.Vector puts
// them in the specification's. Non-base metrics valued X (Not Defined)
// change no base score and are dropped; any other non-base metric is
// refused, because Vigil computes base scores only and must not silently
// ignore a threat or environmental value someone meant.
//
// A *VectorError (errors.Is ErrInvalidVector) names the bad metric or value.
func Score(vector string) (Result, error) {
	return score(vector, nil)
}

// score is Score, reading a prefix-less vector as version assume when it is
// not nil (the chat command's --v4).
func score(vector string, assume *versionDef) (Result, error) {
	v, values, err := parse(vector, assume)
	if err != nil {
		return Result{}, err
	}
	return scoreValues(v, values)
}

// parse checks a vector and returns its version and base values by key.
// It does the validation itself, before go-cvss sees the vector, because
// the library's errors ("invalid metric value") do not say which metric.
func parse(input string, assume *versionDef) (*versionDef, map[string]string, error) {
	s := strings.ToUpper(strings.TrimSpace(input))
	if s == "" {
		return nil, nil, vectorErr("", "", "empty vector")
	}
	var v *versionDef
	if strings.HasPrefix(s, "CVSS:") {
		head, rest, _ := strings.Cut(s, "/")
		switch head {
		case v31.Prefix:
			v = &v31
		case v40.Prefix:
			v = &v40
		case "CVSS:3.0":
			return nil, nil, vectorErr("", "", "CVSS 3.0 is not supported; its base metrics are those of 3.1, so write CVSS:3.1/ instead to score it with the current formula")
		default:
			return nil, nil, vectorErr("", "", "unsupported version %q (want CVSS:3.1 or CVSS:4.0)", head)
		}
		if rest == "" {
			return nil, nil, vectorErr("", "", "no metrics after %q", head+"/")
		}
		s = rest
	}
	type pair struct{ key, value string }
	var pairs []pair
	for part := range strings.SplitSeq(s, "/") {
		if part == "" {
			return nil, nil, vectorErr("", "", `empty metric (two "/" in a row, or a "/" at an end)`)
		}
		key, value, ok := strings.Cut(part, ":")
		if !ok || key == "" {
			return nil, nil, vectorErr("", "", "%q is not METRIC:VALUE", part)
		}
		pairs = append(pairs, pair{key, value})
	}
	has := func(keys []string) string {
		for _, p := range pairs {
			for _, k := range keys {
				if p.key == k {
					return k
				}
			}
		}
		return ""
	}
	k40, k31 := has(only40), has(only31)
	// A metric of the other version is named as such: "unknown metric" or
	// "supplemental metric S" would hide that the prefix is what is wrong.
	switch {
	case v == &v31 && k40 != "":
		return nil, nil, vectorErr(k40, "", "metric %q is from CVSS 4.0, but the vector starts with CVSS:3.1/", k40)
	case v == &v40 && k31 != "":
		return nil, nil, vectorErr(k31, "", "metric %q is from CVSS 3.1, but the vector starts with CVSS:4.0/", k31)
	case v != nil:
	case k40 != "" && k31 != "":
		return nil, nil, vectorErr(k40, "", "mixes CVSS 3.1 metrics (%q) with CVSS 4.0 metrics (%q); start it with CVSS:3.1/ or CVSS:4.0/", k31, k40)
	case assume != nil:
		v = assume
		if v == &v40 && k31 != "" {
			return nil, nil, vectorErr(k31, "", "metric %q is from CVSS 3.1, but the vector is read as CVSS 4.0", k31)
		}
	case k40 != "":
		v = &v40
	default:
		v = &v31
	}
	values := map[string]string{}
	other := map[string]bool{}
	for _, p := range pairs {
		m, base := v.metric(p.key)
		group, known := v.Other[p.key]
		switch {
		case base && values[p.key] != "", known && other[p.key]:
			return nil, nil, vectorErr(p.key, "", "metric %q given twice", p.key)
		case base:
			if _, ok := m.value(p.value); !ok {
				if p.value == "" {
					return nil, nil, vectorErr(p.key, "", "metric %q has no value (want %s)", p.key, want(m))
				}
				return nil, nil, vectorErr(p.key, p.value, "metric %q has no value %q (want %s)", p.key, p.value, want(m))
			}
			values[p.key] = p.value
		case known:
			other[p.key] = true
			if p.value != "X" {
				return nil, nil, vectorErr(p.key, p.value, "metric %q is a CVSS %s %s metric; Vigil scores base vectors only, so remove %q", p.key, v.Name, group, p.key+":"+p.value)
			}
		default:
			return nil, nil, vectorErr(p.key, "", "unknown metric %q in CVSS %s (base metrics: %s)", p.key, v.Name, baseKeys(v))
		}
	}
	var missing []string
	for _, m := range v.Base {
		if values[m.Key] == "" {
			missing = append(missing, fmt.Sprintf("%q", m.Key))
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		return nil, nil, vectorErr(strings.Trim(missing[0], `"`), "", "missing metric %s", missing[0])
	default:
		return nil, nil, vectorErr(strings.Trim(missing[0], `"`), "", "missing metrics %s", strings.Join(missing, ", "))
	}
	return v, values, nil
}

// want lists a metric's values: "N, A, L or P".
func want(m *metricDef) string {
	codes := make([]string, len(m.Values))
	for i, val := range m.Values {
		codes[i] = val.Code
	}
	if len(codes) == 1 {
		return codes[0]
	}
	return strings.Join(codes[:len(codes)-1], ", ") + " or " + codes[len(codes)-1]
}

func baseKeys(v *versionDef) string {
	keys := make([]string, len(v.Base))
	for i, m := range v.Base {
		keys[i] = m.Key
	}
	return strings.Join(keys, ", ")
}

// canonical writes the vector with its prefix, in specification order. A
// metric without a value is left out (a dialog's vector so far).
func canonical(v *versionDef, values map[string]string) string {
	var b strings.Builder
	b.WriteString(v.Prefix)
	for _, m := range v.Base {
		if val := values[m.Key]; val != "" {
			b.WriteString("/" + m.Key + ":" + val)
		}
	}
	return b.String()
}

// scoreValues scores validated base values with go-cvss.
func scoreValues(v *versionDef, values map[string]string) (Result, error) {
	r := Result{Version: v.Name, Vector: canonical(v, values)}
	var (
		rating string
		err    error
	)
	switch v {
	case &v31:
		c, perr := gocvss31.ParseVector(r.Vector)
		if perr != nil {
			return Result{}, fmt.Errorf("cvss: go-cvss refused %s: %w", r.Vector, perr)
		}
		r.Score = c.BaseScore()
		rating, err = gocvss31.Rating(r.Score)
	case &v40:
		c, perr := gocvss40.ParseVector(r.Vector)
		if perr != nil {
			return Result{}, fmt.Errorf("cvss: go-cvss refused %s: %w", r.Vector, perr)
		}
		r.Score = c.Score()
		rating, err = gocvss40.Rating(r.Score)
	default:
		return Result{}, fmt.Errorf("cvss: no scorer for version %s", v.Name)
	}
	if err != nil {
		return Result{}, fmt.Errorf("cvss: rating %.1f for %s: %w", r.Score, r.Vector, err)
	}
	// go-cvss says "CRITICAL"; the specifications and FIRST's calculators
	// write "Critical".
	r.Severity = rating[:1] + strings.ToLower(rating[1:])
	for _, m := range v.Base {
		val, _ := m.value(values[m.Key])
		r.Metrics = append(r.Metrics, Metric{Key: m.Key, Name: m.Name, Value: val.Code, ValueName: val.Name, Help: val.Help})
	}
	r.CalculatorURL = "https://www.first.org/cvss/calculator/" + v.Name + "#" + r.Vector
	return r, nil
}
