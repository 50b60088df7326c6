package fence

import (
	"context"
	"strings"
	"testing"
)

func TestDocFollowsDeclaration(t *testing.T) {
	a := &Agent{
		Name: "fence_x", ShortDesc: "X", Version: "1", Unfencing: true,
		Options: []Option{{Name: "secret_key", Type: String, Secret: true, Required: true,
			Description: "Key", Aliases: []string{"key"}}},
		Off:    func(context.Context, *Request) error { return nil },
		On:     func(context.Context, *Request) error { return nil },
		Status: func(context.Context, *Request) (Power, error) { return PowerOn, nil },
	}
	d := a.Doc()
	if d.DefaultAction != ActionOff || !d.Unfencing {
		t.Errorf("default action %q, unfencing %v", d.DefaultAction, d.Unfencing)
	}
	var names []string
	for _, o := range d.Options {
		names = append(names, o.Name)
		switch o.Name {
		case "secret_key":
			if !o.Secret || !o.Required || o.Generic || o.Flags != "--secret-key=[secret_key]" ||
				strings.Join(o.Keys, ",") != "secret_key,key" || o.Help != "Key [required]" {
				t.Errorf("declared option: %+v", o)
			}
		case OptPlug:
			if !o.Required || !o.Generic || strings.Join(o.Deprecated, ",") != "port" {
				t.Errorf("plug: %+v", o)
			}
		case OptNodeName:
			t.Error("hidden option nodename documented")
		}
	}
	if names[0] != OptAction || names[1] != OptPlug || names[2] != "secret_key" {
		t.Errorf("order: %v", names)
	}
	var acts []string
	for _, act := range d.Actions {
		if act.Help == "" {
			t.Errorf("action %s has no help", act.Name)
		}
		acts = append(acts, act.Name)
	}
	if strings.Join(acts, " ") != strings.Join(a.actions(), " ") {
		t.Errorf("actions %v, want %v", acts, a.actions())
	}
}
