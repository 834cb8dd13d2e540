package store

// MigrationFile is an embedded migration's text, for the tests of what a
// migration does to rows already there.
func MigrationFile(name string) string {
	b, err := migrations.ReadFile("migrations/" + name)
	if err != nil {
		panic(err)
	}
	return string(b)
}
