package index

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecoveryRemovesLeftovers(t *testing.T) {
	dataDir := t.TempDir()
	m, _ := MustOpen(t, dataDir)
	ix := MustIndex(t, m, "rec")
	MustWrite(t, ix, add(`{"objectID":"1","title":"kept"}`))
	MustSettings(t, ix, `{"hitsPerPage":9}`)
	idxDir := ix.dir
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// What a crash can leave: a half-built generation of a rebuild, a partial temp meta
	// file, an unfinished index creation and an unfinished deletion.
	leftGen := filepath.Join(idxDir, genDirName(7))
	if err := os.MkdirAll(filepath.Join(leftGen, "store"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(leftGen, "store", "000000000001.zap"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	partialMeta := filepath.Join(idxDir, metaName+tempSuffix+"123")
	if err := os.WriteFile(partialMeta, []byte(`{"name":"rec","sett`), 0o600); err != nil {
		t.Fatal(err)
	}
	indexes := filepath.Join(dataDir, indexesSubdir)
	halfCreated := filepath.Join(indexes, tmpDirPrefix+dirName("new"))
	halfDeleted := filepath.Join(indexes, trashPrefix+dirName("old")+"-1")
	for _, d := range []string{halfCreated, halfDeleted} {
		if err := os.MkdirAll(filepath.Join(d, "gen-1"), 0o700); err != nil {
			t.Fatal(err)
		}
	}

	m2, logs := MustOpen(t, dataDir)
	for _, p := range []string{leftGen, partialMeta, halfCreated, halfDeleted} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still exists after Open (err %v)", p, err)
		}
	}
	for _, want := range []string{"removing a generation that is not the serving one", "removing a partial temporary file",
		"removing an index whose creation did not finish", "finishing the deletion of an index"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	ix2, err := m2.Get("rec")
	if err != nil {
		t.Fatal(err)
	}
	if MustSource(t, ix2, "1") == nil || ix2.Settings().HitsPerPage != 9 {
		t.Error("data or settings lost in recovery")
	}
	if got := len(m2.List()); got != 1 {
		t.Errorf("List has %d indexes, want 1", got)
	}
}

func TestRecoveryRestartsUnfinishedRebuild(t *testing.T) {
	dataDir := t.TempDir()
	m, _ := MustOpen(t, dataDir)
	ix := MustIndex(t, m, "rr")
	MustWrite(t, ix, add(`{"objectID":"1","brand":"Acme"}`))
	// A rebuild whose settings were saved but which never finished: pause it and close.
	paused, release := pauseRebuild(m)
	task := MustSettings(t, ix, `{"attributesForFaceting":["brand"]}`)
	<-paused
	go func() { release() }()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	meta, err := loadMeta(ix.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.PendingTasks) != 1 || meta.GenerationSpec.equal(specOf(meta.Settings)) {
		t.Fatalf("closing did not leave an unfinished rebuild: %+v", meta)
	}

	m2, logs := MustOpen(t, dataDir)
	ix2, err := m2.Get("rr")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "restarting an unfinished settings rebuild") {
		t.Errorf("restart not logged:\n%s", logs)
	}
	waitPublished(t, m2, ix2)
	if pub, err := m2.TaskStatus("rr", task); err != nil || !pub {
		t.Errorf("TaskStatus(%d) after restarted rebuild = %v, %v", task, pub, err)
	}
	if countHits(t, ix2, FacetField("brand"), "Acme") != 1 {
		t.Error("restarted rebuild did not index the facet")
	}
}
