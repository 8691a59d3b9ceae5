package cvss

// The base metrics of each CVSS version, as the specifications name them,
// in specification order. One table serves the parser (which codes exist),
// the canonical vector (the order), the dialogs (labels and option help) and
// the explanations in a result, so they cannot drift apart.
//
// Sources: the CVSS v3.1 specification, section 2 (Base Metrics), and the
// CVSS v4.0 specification, section 2 (Base Metrics). The one-line helps
// paraphrase the specification's definitions.

// metricDef is one base metric.
type metricDef struct {
	Key    string
	Name   string
	Help   string // the question's explanation in a dialog
	Values []valueDef
}

// valueDef is one value a metric can take.
type valueDef struct {
	Code string
	Name string
	Help string
}

// versionDef is one CVSS version.
type versionDef struct {
	Name   string // "3.1"
	Prefix string // "CVSS:3.1"
	Base   []metricDef
	// Other are the metrics of the version's other groups (temporal or
	// threat, environmental, supplemental). They are valid in a vector but
	// Vigil scores the base only: "X" (Not Defined) is dropped, anything
	// else is refused with a clear message rather than silently ignored.
	Other map[string]string // key → group name
}

func (v *versionDef) metric(key string) (*metricDef, bool) {
	for i := range v.Base {
		if v.Base[i].Key == key {
			return &v.Base[i], true
		}
	}
	return nil, false
}

func (m *metricDef) value(code string) (*valueDef, bool) {
	for i := range m.Values {
		if m.Values[i].Code == code {
			return &m.Values[i], true
		}
	}
	return nil, false
}

// v31 and v40 are read-only tables; nothing assigns to them after
// initialisation.
var v31 = versionDef{
	Name:   "3.1",
	Prefix: "CVSS:3.1",
	Base: []metricDef{
		{Key: "AV", Name: "Attack Vector", Help: "How remote can the attacker be?", Values: []valueDef{
			{"N", "Network", "exploitable over the network, up to the whole internet"},
			{"A", "Adjacent", "only from a shared network nearby (same LAN, Bluetooth, subnet)"},
			{"L", "Local", "needs local access, or a user opening a malicious file"},
			{"P", "Physical", "needs the attacker to physically touch or handle the device"},
		}},
		{Key: "AC", Name: "Attack Complexity", Help: "Does success depend on conditions beyond the attacker's control?", Values: []valueDef{
			{"L", "Low", "no special conditions; the attack succeeds repeatedly at will"},
			{"H", "High", "depends on conditions beyond the attacker's control (a race, a config)"},
		}},
		{Key: "PR", Name: "Privileges Required", Help: "What privileges must the attacker hold before attacking?", Values: []valueDef{
			{"N", "None", "no authorization needed before attacking"},
			{"L", "Low", "basic user privileges, normally over the user's own settings and files"},
			{"H", "High", "significant (administrative) privileges over the vulnerable component"},
		}},
		{Key: "UI", Name: "User Interaction", Help: "Must someone other than the attacker take part?", Values: []valueDef{
			{"N", "None", "no user action needed"},
			{"R", "Required", "a user must take some action first (open a link or a file)"},
		}},
		{Key: "S", Name: "Scope", Help: "Can the impact reach beyond the vulnerable component's security authority?", Values: []valueDef{
			{"U", "Unchanged", "only the vulnerable component's own security authority is affected"},
			{"C", "Changed", "the impact reaches beyond its security authority (a sandbox escape)"},
		}},
		{Key: "C", Name: "Confidentiality", Help: "Impact on the confidentiality of the information the component manages.", Values: []valueDef{
			{"H", "High", "total loss: all data, or critical secrets such as keys, disclosed"},
			{"L", "Low", "some data is disclosed, without control over what or how much"},
			{"N", "None", "no loss of confidentiality"},
		}},
		{Key: "I", Name: "Integrity", Help: "Impact on the trustworthiness of the information.", Values: []valueDef{
			{"H", "High", "total loss: any data can be modified, or with serious consequences"},
			{"L", "Low", "some data can be modified, but not at will or with limited consequences"},
			{"N", "None", "no loss of integrity"},
		}},
		{Key: "A", Name: "Availability", Help: "Impact on the availability of the component itself.", Values: []valueDef{
			{"H", "High", "total loss: access fully denied, or a denial with serious consequences"},
			{"L", "Low", "reduced performance or interruptions, but no full denial"},
			{"N", "None", "no impact on availability"},
		}},
	},
	Other: groups(map[string][]string{
		"temporal":      {"E", "RL", "RC"},
		"environmental": {"CR", "IR", "AR", "MAV", "MAC", "MPR", "MUI", "MS", "MC", "MI", "MA"},
	}),
}

var v40 = versionDef{
	Name:   "4.0",
	Prefix: "CVSS:4.0",
	Base: []metricDef{
		{Key: "AV", Name: "Attack Vector", Help: "How remote can the attacker be?", Values: []valueDef{
			{"N", "Network", "exploitable over the network, up to the whole internet"},
			{"A", "Adjacent", "only from a shared network nearby (same LAN, Bluetooth, subnet)"},
			{"L", "Local", "needs local access, or a user opening a malicious file"},
			{"P", "Physical", "needs the attacker to physically touch or handle the device"},
		}},
		{Key: "AC", Name: "Attack Complexity", Help: "Must the attacker defeat security-enhancing measures?", Values: []valueDef{
			{"L", "Low", "no target-specific evasion needed; the attack succeeds repeatedly"},
			{"H", "High", "must evade protections such as ASLR, or obtain target-specific secrets"},
		}},
		{Key: "AT", Name: "Attack Requirements", Help: "Does success depend on how the target is deployed or running?", Values: []valueDef{
			{"N", "None", "no deployment or execution conditions needed"},
			{"P", "Present", "needs a condition of the target's deployment (a race, a MITM position)"},
		}},
		{Key: "PR", Name: "Privileges Required", Help: "What privileges must the attacker hold before attacking?", Values: []valueDef{
			{"N", "None", "no authorization needed before attacking"},
			{"L", "Low", "basic user privileges, normally over the user's own settings and files"},
			{"H", "High", "significant (administrative) privileges over the vulnerable system"},
		}},
		{Key: "UI", Name: "User Interaction", Help: "Must a human user other than the attacker take part?", Values: []valueDef{
			{"N", "None", "no human user other than the attacker is needed"},
			{"P", "Passive", "a user must interact in a limited, involuntary way (view a page)"},
			{"A", "Active", "a user must take conscious actions (import a file, dismiss a warning)"},
		}},
		{Key: "VC", Name: "Vulnerable System Confidentiality", Help: "Impact on the confidentiality of the vulnerable system's information.", Values: []valueDef{
			{"H", "High", "total loss of confidentiality within the vulnerable system"},
			{"L", "Low", "some information disclosed, without control over what or how much"},
			{"N", "None", "no loss of confidentiality within the vulnerable system"},
		}},
		{Key: "VI", Name: "Vulnerable System Integrity", Help: "Impact on the integrity of the vulnerable system's information.", Values: []valueDef{
			{"H", "High", "total loss of integrity or of protection within the vulnerable system"},
			{"L", "Low", "some data can be modified, but not at will or with limited consequences"},
			{"N", "None", "no loss of integrity within the vulnerable system"},
		}},
		{Key: "VA", Name: "Vulnerable System Availability", Help: "Impact on the availability of the vulnerable system.", Values: []valueDef{
			{"H", "High", "total loss of availability of the vulnerable system"},
			{"L", "Low", "reduced performance or interruptions of the vulnerable system"},
			{"N", "None", "no impact on availability within the vulnerable system"},
		}},
		{Key: "SC", Name: "Subsequent System Confidentiality", Help: "Impact on the confidentiality of other systems beyond the vulnerable one.", Values: []valueDef{
			{"H", "High", "total loss of confidentiality in subsequent systems"},
			{"L", "Low", "some information of subsequent systems disclosed, without control over what"},
			{"N", "None", "no loss of confidentiality in subsequent systems"},
		}},
		{Key: "SI", Name: "Subsequent System Integrity", Help: "Impact on the integrity of other systems beyond the vulnerable one.", Values: []valueDef{
			{"H", "High", "total loss of integrity or of protection in subsequent systems"},
			{"L", "Low", "some data of subsequent systems can be modified, with limited consequences"},
			{"N", "None", "no loss of integrity in subsequent systems"},
		}},
		{Key: "SA", Name: "Subsequent System Availability", Help: "Impact on the availability of other systems beyond the vulnerable one.", Values: []valueDef{
			{"H", "High", "total loss of availability of subsequent systems"},
			{"L", "Low", "reduced performance or interruptions of subsequent systems"},
			{"N", "None", "no impact on availability of subsequent systems"},
		}},
	},
	Other: groups(map[string][]string{
		"threat":        {"E"},
		"environmental": {"CR", "IR", "AR", "MAV", "MAC", "MAT", "MPR", "MUI", "MVC", "MVI", "MVA", "MSC", "MSI", "MSA"},
		"supplemental":  {"S", "AU", "R", "V", "RE", "U"},
	}),
}

func groups(byGroup map[string][]string) map[string]string {
	out := map[string]string{}
	for g, keys := range byGroup {
		for _, k := range keys {
			out[k] = g
		}
	}
	return out
}

// Metrics only in 4.0 (and, for the three impacts, only in 3.1): a vector
// without its prefix is told apart by these. S is in both (3.1 Scope, 4.0
// Safety), so it decides nothing.
var (
	only40 = []string{"AT", "VC", "VI", "VA", "SC", "SI", "SA"}
	only31 = []string{"C", "I", "A"}
)
