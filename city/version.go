package city

// Version is stamped at build time (-ldflags "-X loa/city.Version=…",
// scripts/build.sh).
var Version = "dev"
