package dashboard

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/berth-dev/berth/portfwd"
)

// Forward is a row of the ports view: the forward as `berth ports` shows
// it, and the link that opens it (TCP).
type Forward struct {
	portfwd.Forward
	URL string `json:"url,omitempty"`
}

func (s *Server) portRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/forwards", s.listForwards)
	mux.HandleFunc("POST /api/forwards", s.addForward)
	mux.HandleFunc("DELETE /api/forwards", s.removeForward)
	mux.HandleFunc("POST /api/forwards/paused", s.pauseForward)
	mux.HandleFunc("DELETE /api/forwards/paused", s.pauseForward)
}

func (s *Server) listForwards(w http.ResponseWriter, r *http.Request) {
	fs, err := s.o.Agent.Forwards(r.Context())
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	out := make([]Forward, 0, len(fs))
	for _, f := range fs {
		out = append(out, Forward{Forward: f, URL: forwardURL(f)})
	}
	writeJSON(w, http.StatusOK, out)
}

// forwardURL opens a TCP forward from this host: its own address, or
// loopback for one on every address.
func forwardURL(f portfwd.Forward) string {
	if f.Proto != portfwd.TCP {
		return ""
	}
	ip := f.HostIP
	if ip == portfwd.AllAddresses || ip == "" || ip == "0.0.0.0" || ip == "::" {
		ip = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(ip, strconv.Itoa(f.HostPort)) + "/"
}

// addForward adds a manual forward; the spec is read by the parser `berth
// forward add` uses, so a bad one is refused here with its words.
func (s *Server) addForward(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Spec string `json:"spec"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "request body: "+err.Error())
		return
	}
	if _, err := portfwd.ParseSpec(req.Spec); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := s.o.Agent.AddForward(r.Context(), req.Spec); err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeForward(w http.ResponseWriter, r *http.Request) {
	spec := r.URL.Query().Get("spec")
	if _, err := portfwd.ParseSpec(spec); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.o.Agent.RemoveForward(r.Context(), spec); err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pauseForward stops forwarding a host port (POST) or forwards it again
// (DELETE), as the tray's "Stop forwarding" and "Forward again" do.
func (s *Server) pauseForward(w http.ResponseWriter, r *http.Request) {
	proto := portfwd.Proto(r.URL.Query().Get("proto"))
	port, err := strconv.Atoi(r.URL.Query().Get("port"))
	if proto != portfwd.TCP && proto != portfwd.UDP || err != nil || port < 1 || port > 65535 {
		writeError(w, http.StatusBadRequest, "proto=tcp|udp and port=1-65535")
		return
	}
	if r.Method == http.MethodPost {
		err = s.o.Agent.PauseForward(r.Context(), proto, port)
	} else {
		err = s.o.Agent.ResumeForward(r.Context(), proto, port)
	}
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
