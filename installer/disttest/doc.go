// Package disttest installs and removes the packages `make dist` built,
// for real, as far as a Linux host allows: the .deb with dpkg (and boots
// the installed berth), the MSI with Wine's msiexec in a fresh prefix, and
// the disk image's Berth.app read back with xorriso. It runs from
// `make test-dist` (BERTH_DIST_TEST=1, BERTH_DIST_DIR, BERTH_VERSION);
// without them its tests skip.
package disttest
