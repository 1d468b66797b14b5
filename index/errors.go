package index

import (
	"errors"
	"fmt"
)

// Sentinel errors of package index. Errors returned by this package wrap one of them (test
// with errors.Is); their text says exactly what was wrong and is safe to show to a client.
var (
	// ErrInvalidName means an index name is not acceptable (see ValidateName).
	ErrInvalidName = errors.New("invalid index name")
	// ErrIndexNotFound means the named index does not exist (or was deleted meanwhile).
	ErrIndexNotFound = errors.New("index not found")
	// ErrObjectNotFound means no record has the requested objectID.
	ErrObjectNotFound = errors.New("object not found")
	// ErrInvalidObject means a record or a write operation is malformed.
	ErrInvalidObject = errors.New("invalid object")
	// ErrInvalidSettings means a settings patch holds an unacceptable value.
	ErrInvalidSettings = errors.New("invalid settings")
	// ErrTaskNotFound means a task id was never issued.
	ErrTaskNotFound = errors.New("task not found")
	// ErrStorage means the data directory refused a write (disk full, read-only, I/O error):
	// nothing of the write was applied, and reads go on from the last durable state.
	ErrStorage = errors.New("write not stored")
	// ErrClosed means the Manager has been closed.
	ErrClosed = errors.New("index manager closed")
)

// kindError is an error whose text is msg and which wraps the sentinel kind, so that
// errors.Is(err, kind) holds while Error() is only the human message.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func notFound(name string) error {
	return errorf(ErrIndexNotFound, "Index %s does not exist", name)
}
