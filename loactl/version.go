package loactl

// Version is stamped at build time (-ldflags "-X loa/loactl.Version=…",
// scripts/build.sh).
var Version = "dev"
