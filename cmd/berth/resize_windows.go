package main

// watchResize: Windows consoles send no resize signal; the size is set
// when the session starts.
func watchResize(func(cols, rows int)) func() { return func() {} }
