// Command wsl is the stand-in wsl.exe of the tests (package fakewsl): not
// WSL, it only answers with recorded output.
package main

import (
	"os"

	"github.com/berth-dev/berth/vm/wsl2/internal/fakewsl"
)

func main() { os.Exit(fakewsl.Main(os.Args[1:])) }
