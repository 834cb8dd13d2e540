package policies

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed *.yaml
var embedded embed.FS

// Registry is the set of loaded policies, keyed by id.
type Registry struct {
	byID map[string]Policy
	ids  []string
}

// Load reads the embedded policies and then every *.yaml / *.yml file in dir
// (if dir is not empty); a file in dir with the id of an embedded policy
// replaces it. Any mistake refuses the whole set, naming file, line and fix.
func Load(dir string) (*Registry, error) {
	r := &Registry{byID: map[string]Policy{}}
	from := map[string]string{}   // id -> file it came from
	drillLine := map[string]int{} // id -> line of drill_of in that file
	add := func(name string, data []byte) error {
		p, err := Parse(name, data)
		if err != nil {
			return err
		}
		if prev, ok := from[p.ID]; ok && !strings.HasPrefix(prev, "embedded:") {
			return fmt.Errorf("%s line %d: id: policy id %q is also defined in %s; give each policy its own id", name, keyLine(data, "id"), p.ID, prev)
		}
		from[p.ID] = name
		delete(drillLine, p.ID)
		if p.DrillOf != "" {
			drillLine[p.ID] = keyLine(data, "drill_of")
		}
		r.byID[p.ID] = p
		return nil
	}
	entries, err := fs.ReadDir(embedded, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := embedded.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		if err := add("embedded:policies/"+e.Name(), data); err != nil {
			return nil, err
		}
	}
	if dir != "" {
		files, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("POLICY_DIR %s: %w", dir, err)
		}
		for _, f := range files {
			ext := filepath.Ext(f.Name())
			if f.IsDir() || (ext != ".yaml" && ext != ".yml") {
				continue
			}
			path := filepath.Join(dir, f.Name())
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			if err := add(path, data); err != nil {
				return nil, err
			}
		}
	}
	if err := r.resolveDrills(from, drillLine); err != nil {
		return nil, err
	}
	for id := range r.byID {
		r.ids = append(r.ids, id)
	}
	sort.Strings(r.ids)
	if len(r.ids) == 0 {
		return nil, errors.New("no policies loaded")
	}
	return r, nil
}

// Get returns the policy with the given id.
func (r *Registry) Get(id string) (Policy, bool) {
	p, ok := r.byID[id]
	return p, ok
}

// All returns every policy, sorted by id.
func (r *Registry) All() []Policy {
	out := make([]Policy, 0, len(r.ids))
	for _, id := range r.ids {
		out = append(out, r.byID[id])
	}
	return out
}

var (
	idPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	prefixPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,9}$`)
	datePattern   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// Parse reads and validates one policy file. name is used in messages,
// which are one line per mistake: "<name> line N: <field>: <problem>; <fix>".
func Parse(name string, data []byte) (Policy, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Policy{}, errors.New(syntaxError(name, data, err))
	}
	if len(root.Content) == 0 {
		return Policy{}, fmt.Errorf("%s line 1: (document): the file is empty; write a policy, starting from a copy of policies/northamptonshire.yaml", name)
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return Policy{}, fmt.Errorf("%s line %d: (document): a policy is a mapping of fields (id: ..., stages: ...), not a %s; start from a copy of policies/northamptonshire.yaml", name, doc.Line, kindName(doc))
	}
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return Policy{}, errors.New(decodeErrors(name, data, doc, err))
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return Policy{}, errors.New(syntaxError(name, data, err))
	case len(next.Content) > 0 && !(next.Content[0].Kind == yaml.ScalarNode && next.Content[0].Tag == "!!null"):
		return Policy{}, fmt.Errorf("%s line %d: (document): a second YAML document after ---; put each policy in its own file", name, next.Content[0].Line)
	}
	v := validator{name: name, root: doc}
	if p.DrillOf != "" {
		v.checkDrill(&p)
	} else {
		v.check(&p)
	}
	if len(v.errs) > 0 {
		return Policy{}, errors.New(strings.Join(v.errs, "\n"))
	}
	return p, nil
}

// resolveDrills turns each drill file into a copy of the policy it drills
// with every timescale replaced. Drills are resolved in id order, so the
// mistake reported is always the same one.
func (r *Registry) resolveDrills(from map[string]string, drillLine map[string]int) error {
	drills := make([]string, 0, len(drillLine))
	for id := range drillLine {
		drills = append(drills, id)
	}
	sort.Strings(drills)
	var errs []string
	for _, id := range drills {
		d := r.byID[id]
		base, ok := r.byID[d.DrillOf]
		if !ok || base.DrillOf != "" {
			errs = append(errs, fmt.Sprintf("%s line %d: drill_of: %q is not a loaded policy; name an embedded policy or one in POLICY_DIR (not another drill)", from[id], drillLine[id], d.DrillOf))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	for _, id := range drills {
		d := r.byID[id]
		r.byID[id] = Drill(r.byID[d.DrillOf], d.ID, d.RefPrefix, d.DrillWithin)
	}
	return nil
}

var (
	yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)
	// keyOnLine finds "key:" (after any "- ") at the start of a line.
	keyOnLine     = regexp.MustCompile(`^\s*(?:-\s+)*([A-Za-z_][A-Za-z0-9_-]*)\s*:`)
	unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
	unknownField  = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	duplicateKey  = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
	cannotDecode  = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `.*`)? into (\\S+)$")
)

// parserProblems are the yaml.v3 parser (not scanner) errors, whose
// reported line is 0-based: it is one less than the line a person counts.
var parserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
	"found undefined tag handle",
}

// structName names the part of a policy a Go type is, for messages.
var structName = map[string]string{
	"policies.Policy": "a policy", "policies.Stage": "a stage", "policies.Step": "a step",
	"policies.Category": "a category", "policies.Agency": "an agency", "policies.Contact": "a contact",
	"policies.OutOfScope": "an out_of_scope entry", "policies.CategoryParty": "a category party",
	"policies.DirectoryEntry": "a directory entry",
}

// Drill copies a policy with every timescale set to within (a clock
// duration such as "30 seconds"), for rehearsals and tests. A drill's
// stages last exactly within, day or night: clock hours never move into
// working time in a drill, whatever the policy says.
func Drill(base Policy, id, prefix, within string) Policy {
	t, _ := ParseTimescale(within)
	p := base
	p.ID, p.RefPrefix, p.Drill, p.DrillOf = id, prefix, true, base.ID
	p.ClockHoursEndInWorkingTime = false
	p.Name = fmt.Sprintf("%s: drill, every stage lasts %s (rehearsals only, not the procedure)", base.Name, within)
	p.Stages = make([]Stage, len(base.Stages))
	for i, s := range base.Stages {
		if s.Timescale.Unit != UnitAgreed {
			s.Within, s.Timescale = within, t
		}
		if s.Default != "" {
			s.Default, s.DefaultTimescale = within, &t
		}
		if s.Maximum != "" {
			s.Maximum, s.MaximumTimescale = within, &t
		}
		if s.UrgentWithin != "" {
			s.UrgentWithin, s.UrgentTimescale = within, &t
		}
		steps := make([]Step, len(s.Steps))
		for j, st := range s.Steps {
			st.Within, st.Timescale = within, t
			steps[j] = st
		}
		s.Steps = steps
		p.Stages[i] = s
	}
	return p
}
