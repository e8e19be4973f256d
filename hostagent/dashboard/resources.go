package dashboard

import (
	"cmp"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// Image is a row of the images view.
type Image struct {
	ID      string   `json:"id"`
	Tags    []string `json:"tags"`
	Size    int64    `json:"size"`
	Created int64    `json:"created"`
	// UsedBy names the containers (running or not) made from it.
	UsedBy []string `json:"usedBy"`
}

// Volume is a row of the volumes view; Size is -1 when the engine does not
// say.
type Volume struct {
	Name   string   `json:"name"`
	Driver string   `json:"driver"`
	Size   int64    `json:"size"`
	UsedBy []string `json:"usedBy"`
}

// Network is a row of the networks view.
type Network struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Driver   string   `json:"driver"`
	Scope    string   `json:"scope"`
	Internal bool     `json:"internal"`
	Subnets  []string `json:"subnets"`
}

// DiskUsage is `docker system df`, and what the machine's data disk takes
// on the host (its file is sparse: deleted data gives the space back).
type DiskUsage struct {
	Rows []DFRow `json:"rows"`
	// HostDiskUsed is the data disk file's allocated bytes on the host,
	// HostDiskSize its size; 0 when unknown.
	HostDiskUsed int64 `json:"hostDiskUsed"`
	HostDiskSize int64 `json:"hostDiskSize"`
}

// DFRow is one line of `docker system df`.
type DFRow struct {
	Type        string `json:"type"`
	Total       int64  `json:"total"`
	Active      int64  `json:"active"`
	Size        int64  `json:"size"`
	Reclaimable int64  `json:"reclaimable"`
}

// Reclaimed is what a prune freed.
type Reclaimed struct {
	Bytes   uint64   `json:"bytes"`
	Deleted []string `json:"deleted"`
}

func (s *Server) resourceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/images", s.listImages)
	mux.HandleFunc("DELETE /api/images/{id}", s.removeImage)
	mux.HandleFunc("POST /api/images/prune", s.pruneImages)
	mux.HandleFunc("GET /api/volumes", s.listVolumes)
	mux.HandleFunc("DELETE /api/volumes/{name}", s.removeVolume)
	mux.HandleFunc("POST /api/volumes/prune", s.pruneVolumes)
	mux.HandleFunc("GET /api/networks", s.listNetworks)
	mux.HandleFunc("GET /api/df", s.diskUsage)
	mux.HandleFunc("POST /api/reclaim", s.reclaim)
}

// containerUse maps what containers use to their names: image IDs, and
// volume names.
func (s *Server) containerUse(r *http.Request) (images, volumes map[string][]string, err error) {
	res, err := s.ec.API().ContainerList(r.Context(), client.ContainerListOptions{All: true})
	if err != nil {
		return nil, nil, err
	}
	images, volumes = map[string][]string{}, map[string][]string{}
	for _, c := range res.Items {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		images[c.ImageID] = append(images[c.ImageID], name)
		for _, m := range c.Mounts {
			if m.Type == mount.TypeVolume {
				volumes[m.Name] = append(volumes[m.Name], name)
			}
		}
	}
	return images, volumes, nil
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	res, err := s.ec.API().ImageList(r.Context(), client.ImageListOptions{})
	if err != nil {
		engineError(w, err)
		return
	}
	used, _, err := s.containerUse(r)
	if err != nil {
		engineError(w, err)
		return
	}
	out := make([]Image, 0, len(res.Items))
	for _, im := range res.Items {
		tags := slices.DeleteFunc(slices.Clone(im.RepoTags), func(t string) bool { return t == "<none>:<none>" })
		out = append(out, Image{ID: im.ID, Tags: tags, Size: im.Size, Created: im.Created, UsedBy: orEmpty(used[im.ID])})
	}
	slices.SortFunc(out, func(a, b Image) int { return cmp.Compare(b.Created, a.Created) })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) removeImage(w http.ResponseWriter, r *http.Request) {
	// Not forced: an image a container uses is refused with the engine's
	// words (the page says which containers).
	res, err := s.ec.API().ImageRemove(r.Context(), r.PathValue("id"), client.ImageRemoveOptions{PruneChildren: true})
	if err != nil {
		engineError(w, err)
		return
	}
	var out Reclaimed
	for _, d := range res.Items {
		out.Deleted = append(out.Deleted, cmp.Or(d.Deleted, d.Untagged))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) pruneImages(w http.ResponseWriter, r *http.Request) {
	f := client.Filters{}
	f.Add("dangling", "true")
	res, err := s.ec.API().ImagePrune(r.Context(), client.ImagePruneOptions{Filters: f})
	if err != nil {
		engineError(w, err)
		return
	}
	out := Reclaimed{Bytes: res.Report.SpaceReclaimed}
	for _, d := range res.Report.ImagesDeleted {
		out.Deleted = append(out.Deleted, cmp.Or(d.Deleted, d.Untagged))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listVolumes(w http.ResponseWriter, r *http.Request) {
	// The disk usage call is the one that measures volumes.
	du, err := s.ec.API().DiskUsage(r.Context(), client.DiskUsageOptions{Volumes: true, Verbose: true})
	if err != nil {
		engineError(w, err)
		return
	}
	_, used, err := s.containerUse(r)
	if err != nil {
		engineError(w, err)
		return
	}
	out := make([]Volume, 0, len(du.Volumes.Items))
	for _, v := range du.Volumes.Items {
		size := int64(-1)
		if v.UsageData != nil {
			size = v.UsageData.Size
		}
		out = append(out, Volume{Name: v.Name, Driver: v.Driver, Size: size, UsedBy: orEmpty(used[v.Name])})
	}
	slices.SortFunc(out, func(a, b Volume) int { return cmp.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) removeVolume(w http.ResponseWriter, r *http.Request) {
	if _, err := s.ec.API().VolumeRemove(r.Context(), r.PathValue("name"), client.VolumeRemoveOptions{}); err != nil {
		engineError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pruneVolumes removes every volume no container uses, named ones too
// (the page asked first).
func (s *Server) pruneVolumes(w http.ResponseWriter, r *http.Request) {
	res, err := s.ec.API().VolumePrune(r.Context(), client.VolumePruneOptions{All: true})
	if err != nil {
		engineError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, Reclaimed{Bytes: res.Report.SpaceReclaimed, Deleted: res.Report.VolumesDeleted})
}

func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request) {
	res, err := s.ec.API().NetworkList(r.Context(), client.NetworkListOptions{})
	if err != nil {
		engineError(w, err)
		return
	}
	out := make([]Network, 0, len(res.Items))
	for _, n := range res.Items {
		nw := Network{ID: n.ID, Name: n.Name, Driver: n.Driver, Scope: n.Scope, Internal: n.Internal, Subnets: []string{}}
		for _, c := range n.IPAM.Config {
			if c.Subnet.IsValid() {
				nw.Subnets = append(nw.Subnets, c.Subnet.String())
			}
		}
		out = append(out, nw)
	}
	slices.SortFunc(out, func(a, b Network) int { return cmp.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) diskUsage(w http.ResponseWriter, r *http.Request) {
	du, err := s.ec.API().DiskUsage(r.Context(), client.DiskUsageOptions{Containers: true, Images: true, BuildCache: true, Volumes: true})
	if err != nil {
		engineError(w, err)
		return
	}
	out := DiskUsage{Rows: []DFRow{
		{"Images", du.Images.TotalCount, du.Images.ActiveCount, du.Images.TotalSize, du.Images.Reclaimable},
		{"Containers", du.Containers.TotalCount, du.Containers.ActiveCount, du.Containers.TotalSize, du.Containers.Reclaimable},
		{"Local Volumes", du.Volumes.TotalCount, du.Volumes.ActiveCount, du.Volumes.TotalSize, du.Volumes.Reclaimable},
		{"Build Cache", du.BuildCache.TotalCount, du.BuildCache.ActiveCount, du.BuildCache.TotalSize, du.BuildCache.Reclaimable},
	}}
	if s.o.DataDisk != "" {
		if fi, err := os.Stat(s.o.DataDisk); err == nil {
			out.HostDiskSize, out.HostDiskUsed = fi.Size(), allocated(fi)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// reclaim frees what nothing needs and can be made again: dangling images
// and the build cache (not stopped containers or volumes, which hold
// data). The data disk is mounted with discard, so what the engine frees
// leaves the host's disk file too.
func (s *Server) reclaim(w http.ResponseWriter, r *http.Request) {
	api := s.ec.API()
	f := client.Filters{}
	f.Add("dangling", "true")
	im, err := api.ImagePrune(r.Context(), client.ImagePruneOptions{Filters: f})
	if err != nil {
		engineError(w, err)
		return
	}
	out := Reclaimed{Bytes: im.Report.SpaceReclaimed}
	for _, d := range im.Report.ImagesDeleted {
		out.Deleted = append(out.Deleted, cmp.Or(d.Deleted, d.Untagged))
	}
	bc, err := api.BuildCachePrune(r.Context(), client.BuildCachePruneOptions{All: true})
	if err != nil {
		engineError(w, err)
		return
	}
	out.Bytes += bc.Report.SpaceReclaimed
	out.Deleted = append(out.Deleted, bc.Report.CachesDeleted...)
	writeJSON(w, http.StatusOK, out)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
