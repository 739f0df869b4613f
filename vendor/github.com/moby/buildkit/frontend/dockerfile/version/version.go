package version

const version = "1.28"
