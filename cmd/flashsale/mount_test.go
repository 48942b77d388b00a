package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	_ "modernc.org/sqlite" // database/sql driver, to make other programs' files
)

func cannotMount(t *testing.T, what string, err error, out []byte) {
	t.Helper()
	msg := fmt.Sprintf("%s: %v: %s", what, err, strings.Join(strings.Fields(string(out)), " "))
	if os.Getenv("FLASHSALE_REQUIRE_ROOT_TESTS") == "1" {
		t.Fatalf("%s (FLASHSALE_REQUIRE_ROOT_TESTS=1, so this test must run: run it as root)", msg)
	}
	t.Skipf("%s; this test mounts file systems and needs root (set FLASHSALE_REQUIRE_ROOT_TESTS=1 to fail instead of skipping)", msg)
}

// mountTmpfs mounts a tmpfs of the given size on a fresh folder, unmounted
// when the test ends.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		cannotMount(t, "mount a tmpfs", err, out)
	}
	t.Cleanup(func() { unmount(t, dir) })
	return dir
}

// readOnlyBind makes the file at path read-only, for root too, by mounting
// it read-only over itself; its folder stays writable.
func readOnlyBind(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command("mount", "--bind", path, path).CombinedOutput(); err != nil {
		cannotMount(t, "bind-mount "+path, err, out)
	}
	t.Cleanup(func() { unmount(t, path) })
	if out, err := exec.Command("mount", "-o", "remount,ro,bind", path).CombinedOutput(); err != nil {
		t.Fatalf("remount %s read-only: %v: %s", path, err, bytes.TrimSpace(out))
	}
}

func remountReadOnly(t *testing.T, dir string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s read-only: %v: %s", dir, err, bytes.TrimSpace(out))
	}
}

// unmount detaches lazily if something still has a file open there (a
// server that failed to stop), so that the folder can be removed anyway.
func unmount(t *testing.T, dir string) {
	t.Helper()
	if exec.Command("umount", dir).Run() == nil {
		return
	}
	if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
		t.Errorf("unmount %s: %v: %s", dir, err, bytes.TrimSpace(out))
	}
}

// fillDisk writes a filler file in dir until the file system is full, then
// gives back slack bytes, and returns the filler's path.
func fillDisk(t *testing.T, dir string, slack int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("create the filler: %v", err)
	}
	defer f.Close()
	chunk := make([]byte, 256<<10)
	var size int64
	for i := 0; ; i++ {
		if i == 1<<14 { // 4 GiB: not the tiny file system this was meant for
			t.Fatalf("%s is not full after %d bytes", dir, size)
		}
		n, err := f.Write(chunk)
		size += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatalf("fill %s: %v", dir, err)
		}
	}
	if slack > 0 {
		if err := f.Truncate(max(size-slack, 0)); err != nil {
			t.Fatalf("give back %d bytes: %v", slack, err)
		}
	}
	return path
}
