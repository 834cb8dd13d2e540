package store

// ListCasesQuery lets the plan test EXPLAIN the list query as it is built.
var ListCasesQuery = listCasesQuery
