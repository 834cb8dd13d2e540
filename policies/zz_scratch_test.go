package policies

import (
	"fmt"
	"testing"
	"bytes"
	"gopkg.in/yaml.v3"
)

func TestZZScratch(t *testing.T) {
	for _, doc := range []string{"", "# just a comment\n", "~\n", "- a\n- b\n", "id: [unclosed", "id: x\nname: a\n  bad: indent\n", "id: x\n\tname: tab\n", "id: x\ncolour: blue\nstages:\n  - number: two\n    whom: x\n", "id: x\nid: y\n", "id: \"unterminated\nname: y\n", "a: b: c\n", "---\nid: a\n---\nid: b\n"} {
		var root yaml.Node
		err := yaml.Unmarshal([]byte(doc), &root)
		fmt.Printf("DOC %q\n unmarshal err=%v kind=%v content=%d\n", doc, err, root.Kind, len(root.Content))
		var p Policy
		dec := yaml.NewDecoder(bytes.NewReader([]byte(doc)))
		dec.KnownFields(true)
		err = dec.Decode(&p)
		fmt.Printf(" decode err=%#v\n", err)
	}
}
