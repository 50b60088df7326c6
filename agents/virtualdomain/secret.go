package virtualdomain

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// ensureCephSecrets makes sure, when ceph_user and ceph_keyring are set,
// that every libvirt secret the domain's RBD disks name exists and holds
// that user's key. The key goes from the keyring file straight into
// libvirt's secret API over the RPC socket; it is never logged, never put
// in an argument or the environment. Secrets the operator made are used
// as they are; only their value is set.
func (v *vd) ensureCephSecrets(ctx context.Context, req *ocf.Request, s settings, h hypervisor, cfg *domainConfig) error {
	if s.cephUser == "" || s.cephKeyring == "" {
		return nil
	}
	refs := secretRefs(cfg)
	if len(refs) == 0 {
		return nil
	}
	key, err := readCephKey(ctx, s.cephKeyring, s.cephUser)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if err := ensureSecret(ctx, h, ref, s.cephUser, key); err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "libvirt secret %s for client.%s: %v", ref, agentlog.Clip(s.cephUser), err)
		}
		req.Log.Debugf("libvirt secret %s holds the key of client.%s", ref, agentlog.Clip(s.cephUser))
	}
	return nil
}

// secretRefs lists the distinct secrets of the domain's RBD disks.
func secretRefs(cfg *domainConfig) []secretRef {
	var refs []secretRef
	seen := map[secretRef]bool{}
	for _, d := range cfg.RBDDisks {
		if (d.Secret.UUID != "" || d.Secret.Usage != "") && !seen[d.Secret] {
			seen[d.Secret] = true
			refs = append(refs, d.Secret)
		}
	}
	return refs
}

// ensureSecret finds the secret (defining it when missing) and sets its value.
func ensureSecret(ctx context.Context, h hypervisor, ref secretRef, user string, key []byte) error {
	var sec libvirt.Secret
	var err error
	if ref.UUID != "" {
		sec, err = h.SecretByUUID(ctx, ref.UUID)
	} else {
		sec, err = h.CephSecretByUsage(ctx, ref.Usage)
	}
	if errors.Is(err, libvirt.ErrNotFound) {
		sec, err = h.DefineSecret(ctx, cephSecretXML(ref, user))
	}
	if err != nil {
		return err
	}
	return h.SetSecretValue(ctx, sec, key)
}

// cephSecretXML describes a private, persistent ceph secret. A secret
// named by UUID gets a usage name of its own (libvirt requires one and
// wants it unique).
func cephSecretXML(ref secretRef, user string) string {
	doc := etree.NewDocument()
	root := doc.CreateElement("secret")
	root.CreateAttr("ephemeral", "no")
	root.CreateAttr("private", "yes")
	usage := ref.Usage
	if ref.UUID != "" {
		root.CreateElement("uuid").SetText(ref.UUID)
		if usage == "" {
			usage = fmt.Sprintf("client.%s key for kvmha (%s)", user, ref.UUID)
		}
	}
	u := root.CreateElement("usage")
	u.CreateAttr("type", "ceph")
	u.CreateElement("name").SetText(usage)
	out, _ := doc.WriteToString()
	return out
}

// readCephKey returns the decoded key of client.<user> from a keyring file,
// read within fileWait(ctx) and maxKeyringSize. Errors name the parameter,
// the file and the entity, never the key.
func readCephKey(ctx context.Context, path, user string) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, fileWait(ctx))
	data, err := files.Read(rctx, path, maxKeyringSize)
	cancel()
	if err != nil {
		return nil, fileError(pCephKeyring, path, err)
	}
	key, err := parseKeyring(data, "client."+user)
	if err != nil {
		return nil, ocf.Errorf(ocf.ErrInstalled, "%s: %s: %v", pCephKeyring, agentlog.Clip(path), err)
	}
	return key, nil
}

// parseKeyring finds "key = <base64>" in the [entity] section of a Ceph
// keyring.
func parseKeyring(data []byte, entity string) ([]byte, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	section := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "", line[0] == '#', line[0] == ';':
			continue
		case line[0] == '[':
			section = strings.TrimSpace(strings.Trim(line, "[]"))
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok || section != entity || strings.TrimSpace(k) != "key" {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val))
		if err != nil || len(key) == 0 {
			return nil, fmt.Errorf("the key of %s is not valid base64", agentlog.Clip(entity))
		}
		return key, nil
	}
	return nil, fmt.Errorf("no key for %s", agentlog.Clip(entity))
}
