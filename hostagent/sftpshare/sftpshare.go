// Package sftpshare serves one host folder over SFTP on a connection, for
// a guest that mounts it with sshfs in passive mode: the way folders reach
// a VM whose hypervisor has no virtio-fs (a Hyper-V VM; QEMU where no
// virtiofsd runs), as Lima's reverse-sshfs does. The agent runs it as its
// own user, so the guest can do in the folder what that user can, and no
// more; every path is resolved inside the folder through os.Root, so
// neither ".." nor a symbolic link leads out of it.
package sftpshare

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/pkg/sftp"
)

// ErrReadOnly is what a write to a read-only share gets.
var ErrReadOnly = fmt.Errorf("the share is read-only: %w", sftp.ErrSSHFxPermissionDenied)

// Serve serves dir on rw until the guest closes it or rw fails; a read-only
// share refuses every change. It returns nil when the guest ended the
// session.
func Serve(rw io.ReadWriteCloser, dir string, readOnly bool) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		_ = rw.Close()
		return fmt.Errorf("opening the shared folder: %w", err)
	}
	defer root.Close()
	h := &handlers{root: root, readOnly: readOnly}
	s := sftp.NewRequestServer(rw, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h})
	defer s.Close()
	if err := s.Serve(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// handlers are the request server's handlers over one folder.
type handlers struct {
	root     *os.Root
	readOnly bool
}

var (
	_ sftp.OpenFileWriter       = (*handlers)(nil)
	_ sftp.PosixRenameFileCmder = (*handlers)(nil)
	_ sftp.LstatFileLister      = (*handlers)(nil)
	_ sftp.ReadlinkFileLister   = (*handlers)(nil)
)

// Rel is the name inside the folder of a path the guest sends: the
// request server makes it absolute and clean, "/" being the folder.
func Rel(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}
	return p
}

func (h *handlers) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	return h.root.Open(Rel(r.Filepath))
}

func (h *handlers) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	return h.open(r)
}

func (h *handlers) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	return h.open(r)
}

// open opens a file as the request's flags say. O_APPEND is left out: the
// client sends each write's offset, and os.File refuses WriteAt on a file
// opened for appending.
func (h *handlers) open(r *sftp.Request) (*os.File, error) {
	pf := r.Pflags()
	flag := os.O_RDONLY
	switch {
	case pf.Read && pf.Write:
		flag = os.O_RDWR
	case pf.Write:
		flag = os.O_WRONLY
	}
	if pf.Creat {
		flag |= os.O_CREATE
	}
	if pf.Trunc {
		flag |= os.O_TRUNC
	}
	if pf.Excl {
		flag |= os.O_EXCL
	}
	if h.readOnly && flag != os.O_RDONLY {
		return nil, ErrReadOnly
	}
	return h.root.OpenFile(Rel(r.Filepath), flag, permOr(r, 0o644))
}

// permOr is the permission bits the request gives for what it creates,
// or def when it gives none.
func permOr(r *sftp.Request, def fs.FileMode) fs.FileMode {
	if a := r.Attributes(); a != nil && r.AttrFlags().Permissions {
		return a.FileMode().Perm()
	}
	return def
}

func (h *handlers) Filecmd(r *sftp.Request) error {
	if h.readOnly {
		return ErrReadOnly
	}
	name := Rel(r.Filepath)
	switch r.Method {
	case "Setstat":
		return h.setstat(r, name)
	case "Rename":
		// SFTP's rename does not replace an existing file.
		if _, err := h.root.Lstat(Rel(r.Target)); err == nil {
			return &os.LinkError{Op: "rename", Old: r.Filepath, New: r.Target, Err: fs.ErrExist}
		}
		return h.root.Rename(name, Rel(r.Target))
	case "Rmdir", "Remove":
		return h.root.Remove(name)
	case "Mkdir":
		return h.root.Mkdir(name, permOr(r, 0o755))
	case "Link":
		return h.root.Link(name, Rel(r.Target))
	case "Symlink":
		// Filepath is the link's text, as the client wrote it; Target is
		// where the link goes.
		return h.root.Symlink(r.Filepath, Rel(r.Target))
	}
	return fmt.Errorf("sftp request %q: %w", r.Method, errors.ErrUnsupported)
}

// PosixRename replaces the target, as rename(2) does.
func (h *handlers) PosixRename(r *sftp.Request) error {
	if h.readOnly {
		return ErrReadOnly
	}
	return h.root.Rename(Rel(r.Filepath), Rel(r.Target))
}

// setstat applies what the request sets, in the order chmod, chown,
// truncate, times (a truncate moves the modification time).
func (h *handlers) setstat(r *sftp.Request, name string) error {
	a, flags := r.Attributes(), r.AttrFlags()
	if a == nil {
		return nil
	}
	if flags.Permissions {
		if err := h.root.Chmod(name, a.FileMode().Perm()|a.FileMode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
	}
	if flags.UidGid {
		if err := h.root.Lchown(name, int(a.UID), int(a.GID)); err != nil {
			return err
		}
	}
	if flags.Size {
		f, err := h.root.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		err = f.Truncate(int64(a.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if flags.Acmodtime {
		return h.root.Chtimes(name, time.Unix(int64(a.Atime), 0), time.Unix(int64(a.Mtime), 0))
	}
	return nil
}

func (h *handlers) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	name := Rel(r.Filepath)
	switch r.Method {
	case "List":
		d, err := h.root.Open(name)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		infos, err := d.Readdir(-1)
		if err != nil {
			return nil, err
		}
		return lister(infos), nil
	case "Stat":
		fi, err := h.root.Stat(name)
		if err != nil {
			return nil, err
		}
		return lister{fi}, nil
	}
	return nil, fmt.Errorf("sftp request %q: %w", r.Method, errors.ErrUnsupported)
}

func (h *handlers) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	fi, err := h.root.Lstat(Rel(r.Filepath))
	if err != nil {
		return nil, err
	}
	return lister{fi}, nil
}

func (h *handlers) Readlink(p string) (string, error) {
	return h.root.Readlink(Rel(p))
}

// lister hands out a directory's entries from an offset.
type lister []os.FileInfo

func (l lister) ListAt(out []os.FileInfo, offset int64) (int, error) {
	if offset >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[offset:])
	if n+int(offset) == len(l) {
		return n, io.EOF
	}
	return n, nil
}
