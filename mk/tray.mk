# The tray app (cmd/berth-tray). Included by the Makefile.

.PHONY: berth-tray berth-tray-windows test-tray tray-screenshot

berth-tray:
	$(GO) build -o $(BIN)/berth-tray ./cmd/berth-tray

# A GUI-subsystem exe: no console window opens with it.
berth-tray-windows:
	GOOS=windows GOARCH=amd64 $(GO) build -ldflags=-H=windowsgui -o $(BIN)/berth-tray.exe ./cmd/berth-tray

# The tray's menu over DBus against a fake agent (packages in
# hack/deps-tray.txt). Without -race: fyne.io/systray races with itself
# on the first GetLayout (see tray/native/native_linux_test.go).
test-tray: deps-tray
	$(GO) test -count=1 ./tray/native/

# The menu in a real tray host (xfce4-panel on Xvfb); packages in
# hack/deps-screenshot.txt. Not part of `make test`: an artifact.
tray-screenshot: deps-screenshot
	./hack/tray-screenshot.sh docs/screenshots/tray-menu-stopped.png
