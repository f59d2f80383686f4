package main

import "time"

func formatNow(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
