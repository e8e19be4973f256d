// Command tlsprobe is the fault suite's TLS client, run in a container:
// it fetches a URL over HTTPS trusting only the PEM certificate given, so
// a guest clock outside the certificate's validity fails the check.
//
//	tlsprobe URL PEM
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tlsprobe URL PEM")
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(os.Args[2])) {
		fmt.Fprintln(os.Stderr, "tlsprobe: PEM: no certificate in it")
		os.Exit(2)
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "tlsprobe: %v (the container's clock: %s)\n", err, time.Now().UTC().Format(time.RFC3339))
		os.Exit(1)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(os.Stdout, resp.Body); err != nil {
		fmt.Fprintln(os.Stderr, "tlsprobe:", err)
		os.Exit(1)
	}
}
