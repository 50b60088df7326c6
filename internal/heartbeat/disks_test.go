package heartbeat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

func diskRecord() *Record {
	r := testRecord()
	r.GuestDisks = true
	r.Guests = []Guest{{Name: "vm1", UUID: "6f1c2a3e-0000-4000-8000-0000000000a1", IO: &GuestIO{WrReqs: 3},
		Disks: []Disk{
			{Target: "vda", Kind: DiskFile, Source: "/shared/vm1.img", Real: "/srv/ocfs2/vm1.img", IO: &DiskIO{WrReqs: 3, WrBytes: 4096}},
			{Target: "vdb", Kind: DiskBlock, Source: "/dev/disk/by-id/wwn-0x600a0b80", Real: "/dev/sdb",
				IDs: []string{"wwn:600a0b80", "by-id:wwn-0x600a0b80"}},
			{Target: "vdc", Kind: DiskRBD, Source: "rbd/ns/vm1-data"},
			{Target: "sda", Kind: DiskFile, Source: "/iso/install.iso", ReadOnly: true},
			{Target: "vdd", Kind: DiskBlock, Source: "/dev/sdz", Shareable: true},
		}}}
	return r
}

func TestRecordWithDisksRoundTrip(t *testing.T) {
	r := diskRecord()
	data, err := EncodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.GuestDisks || !reflect.DeepEqual(got.Guests[0].Disks, r.Guests[0].Disks) {
		t.Fatalf("round trip:\n%+v\n%+v", got.Guests[0].Disks, r.Guests[0].Disks)
	}
}

// A record of a writer before disks were listed is read as it was: no
// disks, and Record.GuestDisks unset, so that no reader takes its guests
// for guests without disks.
func TestRecordBeforeDisksIsRead(t *testing.T) {
	data, err := os.ReadFile("testdata/record-before-disks.frame")
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	if r.GuestDisks || len(r.Guests) != 1 || r.Guests[0].Disks != nil || r.GuestsMore != 1 {
		t.Fatalf("%+v", r)
	}
	use := Use{Name: "vm9", Disks: []Disk{{Kind: DiskFile, Source: "/a"}}}
	if c := r.Conflicts(use); len(c) != 2 || !strings.Contains(c[0], "runs guest vm1, and its record lists no disks (an older kvmha): it may use file /a") ||
		!strings.Contains(c[1], "leaves out") {
		t.Fatalf("conflicts %q", c)
	}
}

// oldRecord is the record as readers before disks decoded it: the fields
// their checks looked at. A new record, within its slot, must decode into it.
type oldRecord struct {
	Node       string   `json:"node"`
	IntervalMs int64    `json:"interval_ms"`
	TimeoutMs  int64    `json:"timeout_ms"`
	State      string   `json:"state"`
	Backends   []string `json:"backends"`
	Guests     []struct {
		Name string `json:"name"`
		UUID string `json:"uuid"`
		IO   *struct {
			WrReqs uint64 `json:"wr_reqs"`
			Moving bool   `json:"moving"`
		} `json:"io"`
	} `json:"guests"`
	GuestsMore int `json:"guests_more"`
}

func TestOldReaderReadsRecordWithDisks(t *testing.T) {
	data, err := EncodeRecord(diskRecord())
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > RecordSize {
		t.Fatalf("%d bytes", len(data))
	}
	var old oldRecord
	if err := decodeFrame(data, kindRecord, RecordSize, &old); err != nil {
		t.Fatal(err)
	}
	if old.Node != "node1" || len(old.Guests) != 1 || old.Guests[0].Name != "vm1" || old.Guests[0].IO.WrReqs != 3 {
		t.Fatalf("%+v", old)
	}
}

// manyGuests makes n guests of two writable file disks, a CD-ROM and a
// shareable disk each, with their counters.
func manyGuests(n int) []Guest {
	var gs []Guest
	for i := 0; i < n; i++ {
		gs = append(gs, Guest{Name: fmt.Sprintf("guest-%04d", i), UUID: fmt.Sprintf("%036d", i), IO: &GuestIO{},
			Disks: []Disk{
				{Target: "vda", Kind: DiskFile, Source: fmt.Sprintf("/shared/images/guest-%04d-system.qcow2", i), IO: &DiskIO{WrReqs: 1}},
				{Target: "vdb", Kind: DiskRBD, Source: fmt.Sprintf("rbd/guest-%04d-data", i), IO: &DiskIO{WrReqs: 1}},
				{Target: "sda", Kind: DiskFile, Source: "/iso/debian-12.iso", ReadOnly: true, IO: &DiskIO{}},
				{Target: "vdc", Kind: DiskBlock, Source: "/dev/disk/by-id/wwn-0x6000000000000001", Shareable: true, IO: &DiskIO{}},
			}})
	}
	return gs
}

// What a full slot loses, in order: the disks' counters, the read-only and
// shareable disks, the guests' counters, the disk lists of the last guests,
// the last guests.
func TestEncodeRecordShedsDiskDetailsFirst(t *testing.T) {
	for _, tc := range []struct {
		guests                                                       int
		wantIO, wantShared, wantGuestIO, wantAllLists, wantAllGuests bool
	}{
		{guests: 10, wantIO: true, wantShared: true, wantGuestIO: true, wantAllLists: true, wantAllGuests: true},
		{guests: 30, wantShared: true, wantGuestIO: true, wantAllLists: true, wantAllGuests: true},
		{guests: 45, wantGuestIO: true, wantAllLists: true, wantAllGuests: true},
		{guests: 60, wantAllLists: true, wantAllGuests: true},
		{guests: 100, wantAllGuests: true},
		{guests: 600},
	} {
		t.Run(fmt.Sprint(tc.guests), func(t *testing.T) {
			r := testRecord()
			r.GuestDisks = true
			r.Guests = manyGuests(tc.guests)
			data, err := EncodeRecord(r)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Guests[0].Disks) != 4 || r.Guests[0].Disks[0].IO == nil {
				t.Fatal("EncodeRecord changed its argument")
			}
			got, err := DecodeRecord(data)
			if err != nil {
				t.Fatal(err)
			}
			hasIO, hasShared, hasGuestIO, lists := false, false, false, 0
			for _, g := range got.Guests {
				hasGuestIO = hasGuestIO || g.IO != nil
				for _, d := range g.Disks {
					hasIO = hasIO || d.IO != nil
					hasShared = hasShared || !d.Writable()
				}
				if len(g.Disks) > 0 {
					lists++
				} else if !g.DisksIncomplete || g.DisksMore == 0 {
					t.Fatalf("guest %s lost its disks unmarked: %+v", g.Name, g)
				}
				if len(g.Disks)+g.DisksMore != 4 {
					t.Fatalf("guest %s: %d disks + %d more", g.Name, len(g.Disks), g.DisksMore)
				}
			}
			if hasIO != tc.wantIO || hasShared != tc.wantShared || hasGuestIO != tc.wantGuestIO || (lists == len(got.Guests)) != tc.wantAllLists ||
				(got.GuestsMore == 0) != tc.wantAllGuests || len(got.Guests)+got.GuestsMore != tc.guests {
				t.Fatalf("%d bytes: disk io %v, shared %v, guest io %v, %d lists of %d guests, %d more",
					len(data), hasIO, hasShared, hasGuestIO, lists, len(got.Guests), got.GuestsMore)
			}
			if tc.wantAllGuests && !tc.wantAllLists && lists == 0 {
				t.Fatal("every disk list dropped where some fit")
			}
		})
	}
}

func TestDecodeRecordRejectsBadDisks(t *testing.T) {
	base := `{"node":"a","interval_ms":1,"timeout_ms":1,"state":"running","backends":["x"],"guest_disks":true,"guests":[{"name":"g",%s}]}`
	many := make([]string, MaxGuestDisks+1)
	for i := range many {
		many[i] = `{"kind":"file","src":"/a"}`
	}
	ids := make([]string, MaxDiskIDs+1)
	for i := range ids {
		ids[i] = `"id"`
	}
	for name, guest := range map[string]string{
		"kind":        `"disks":[{"kind":"Fi le","src":"/a"}]`,
		"no source":   `"disks":[{"kind":"file","src":""}]`,
		"long source": `"disks":[{"kind":"file","src":"/` + strings.Repeat("a", MaxDiskPath) + `"}]`,
		"long real":   `"disks":[{"kind":"file","src":"/a","real":"/` + strings.Repeat("a", MaxDiskPath) + `"}]`,
		"target":      `"disks":[{"kind":"file","src":"/a","target":"` + strings.Repeat("v", 300) + `"}]`,
		"ids":         `"disks":[{"kind":"block","src":"/dev/a","ids":[` + strings.Join(ids, ",") + `]}]`,
		"empty id":    `"disks":[{"kind":"block","src":"/dev/a","ids":[""]}]`,
		"many":        `"disks":[` + strings.Join(many, ",") + `]`,
		"more":        `"disks_more":-1`,
	} {
		data := frameWith(t, kindRecord, []byte(fmt.Sprintf(base, guest)))
		if _, err := DecodeRecord(data); !errors.Is(err, ErrBadFrame) {
			t.Errorf("%s: got %v, want a bad frame", name, err)
		}
	}
	// A kind this reader does not know is read (a later writer may add one),
	// and matches nothing.
	data := frameWith(t, kindRecord, []byte(fmt.Sprintf(base, `"disks":[{"kind":"nvme","src":"0000:01:00.0/1"}]`)))
	r, err := DecodeRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Conflicts(Use{Name: "x", Disks: []Disk{{Kind: "nvme", Source: "0000:01:00.0/1"}}}); len(c) != 0 {
		t.Fatalf("unknown kinds matched: %q", c)
	}
}

func TestSameDisk(t *testing.T) {
	file := func(src, real string) Disk { return Disk{Kind: DiskFile, Source: src, Real: real} }
	block := func(src, real string, ids ...string) Disk {
		return Disk{Kind: DiskBlock, Source: src, Real: real, IDs: ids}
	}
	for _, tc := range []struct {
		name string
		a, b Disk
		same bool
	}{
		{"same file", file("/shared/a.img", ""), file("/shared/a.img", ""), true},
		{"file through a link", file("/vm/a.img", "/shared/a.img"), file("/shared/a.img", ""), true},
		{"both through links", file("/x/a.img", "/shared/a.img"), file("/y/a.img", "/shared/a.img"), true},
		{"other file", file("/shared/a.img", ""), file("/shared/b.img", ""), false},
		{"same LUN by wwn", block("/dev/sdb", "", "wwn:600a"), block("/dev/mapper/mpatha", "/dev/dm-3", "wwn:600a", "dm:mpath-3600a"), true},
		{"same name, other LUN", block("/dev/sdb", "", "wwn:600a"), block("/dev/sdb", "", "wwn:600b"), false},
		{"no ids: paths", block("/dev/vg/lv", "/dev/dm-1"), block("/dev/vg/lv", "/dev/dm-4"), true},
		{"ids on one side only", block("/dev/sdb", "", "wwn:600a"), block("/dev/sdb", ""), false},
		{"same image", Disk{Kind: DiskRBD, Source: "rbd/a"}, Disk{Kind: DiskRBD, Source: "rbd/a"}, true},
		{"image in a namespace", Disk{Kind: DiskRBD, Source: "rbd/ns/a"}, Disk{Kind: DiskRBD, Source: "rbd/a"}, false},
		{"image and file of one name", Disk{Kind: DiskRBD, Source: "rbd/a"}, file("rbd/a", ""), false},
		{"volume resolved on one host", Disk{Kind: DiskVolume, Source: "pool/v1"}, Disk{Kind: DiskFile, Source: "/p/v1", Volume: "pool/v1"}, true},
		{"network", Disk{Kind: DiskNetwork, Source: "iscsi:iqn.x/1"}, Disk{Kind: DiskNetwork, Source: "iscsi:iqn.x/1"}, true},
	} {
		if got := SameDisk(tc.a, tc.b); got != tc.same || SameDisk(tc.b, tc.a) != tc.same {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestConflicts(t *testing.T) {
	r := diskRecord()
	vm1 := r.Guests[0]
	cases := []struct {
		name string
		use  Use
		want []string // substrings, one per conflict
	}{
		{"the domain by UUID", Use{Name: "renamed", UUID: strings.ToUpper(vm1.UUID)}, []string{"runs domain renamed (as vm1)"}},
		{"another domain of the same name", Use{Name: "vm1", UUID: "00000000-0000-0000-0000-000000000001"}, nil},
		{"by name without a UUID", Use{Name: "vm1"}, []string{"runs domain vm1"}},
		{"its file", Use{Name: "vm2", Disks: []Disk{{Target: "vdx", Kind: DiskFile, Source: "/srv/ocfs2/vm1.img"}}},
			[]string{"runs guest vm1, writing to vdx (file /srv/ocfs2/vm1.img) (its vda)"}},
		{"its LUN", Use{Name: "vm2", Disks: []Disk{{Kind: DiskBlock, Source: "/dev/sdc", IDs: []string{"wwn:600a0b80"}}}},
			[]string{"(its vdb)"}},
		{"its image", Use{Name: "vm2", Disks: []Disk{{Kind: DiskRBD, Source: "rbd/ns/vm1-data"}}}, []string{"(its vdc)"}},
		{"our disk read-only", Use{Name: "vm2", Disks: []Disk{{Kind: DiskRBD, Source: "rbd/ns/vm1-data", ReadOnly: true}}}, nil},
		{"our disk shareable", Use{Name: "vm2", Disks: []Disk{{Kind: DiskFile, Source: "/shared/vm1.img", Shareable: true}}}, nil},
		{"their disk read-only", Use{Name: "vm2", Disks: []Disk{{Kind: DiskFile, Source: "/iso/install.iso"}}}, nil},
		{"their disk shareable", Use{Name: "vm2", Disks: []Disk{{Kind: DiskBlock, Source: "/dev/sdz"}}}, nil},
		{"nothing shared", Use{Name: "vm2", Disks: []Disk{{Kind: DiskFile, Source: "/shared/vm2.img"}}}, nil},
	}
	for _, tc := range cases {
		got := r.Conflicts(tc.use)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %q", tc.name, got)
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: %q, want %q", tc.name, got[i], w)
			}
		}
	}
	r.Guests[0].DisksIncomplete = true
	if c := r.Conflicts(Use{Name: "vm2", Disks: []Disk{{Kind: DiskFile, Source: "/shared/vm2.img"}}}); len(c) != 1 || !strings.Contains(c[0], "not all listed") {
		t.Errorf("incomplete: %q", c)
	}
	if c := r.Conflicts(Use{Name: "vm2"}); len(c) != 0 {
		t.Errorf("incomplete, a domain without writable disks: %q", c)
	}
}

func TestRecordWithDisksJSONNames(t *testing.T) {
	data, _ := json.Marshal(diskRecord().Guests[0].Disks[1])
	want := `{"target":"vdb","kind":"block","src":"/dev/disk/by-id/wwn-0x600a0b80","real":"/dev/sdb","ids":["wwn:600a0b80","by-id:wwn-0x600a0b80"]}`
	if string(data) != want {
		t.Fatalf("%s", data)
	}
}
