package main

import "testing"

func TestAgentDeclarationIsValid(t *testing.T) {
	if err := agent.Check(); err != nil {
		t.Fatal(err)
	}
}
