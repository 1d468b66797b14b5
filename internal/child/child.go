// Package child runs a server as a child process for the project's commands that drive one
// (the load test, the bench harness): it waits for the server to print its address and stops
// it by its process id.
package child

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"
)

// Process is a started child that printed its address.
type Process struct {
	// Base is the address it printed ("http://127.0.0.1:PORT").
	Base string
	cmd  *exec.Cmd
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// Start runs cmd with its stderr going to logw, and waits at most wait for a stdout line
// "... listening on http://ADDR". On timeout the child is killed.
func Start(cmd *exec.Cmd, logw io.Writer, wait time.Duration) (*Process, error) {
	cmd.Stderr = logw
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case base := <-found:
		return &Process{Base: base, cmd: cmd}, nil
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s did not print its address within %s", filepath.Base(cmd.Path), wait)
	}
}

// Pid is the child's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stop interrupts the child (by its pid) and waits for it, killing it after grace.
func (p *Process) Stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-done
	}
}
