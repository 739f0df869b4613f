package disk

type DiskStat struct {
	Total     int64
	Free      int64
	Available int64
}
