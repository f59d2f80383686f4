module example.com/transcode

go 1.22
