module example.com/golang-http

go 1.19
