package initd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// ReadConfig reads and validates the machine config. Unknown keys are not
// an error (a newer host may send more than this init knows) but come back
// as a warning.
func ReadConfig(path string) (cfg guestconfig.Config, warning string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, "", fmt.Errorf("reading machine config: %w", err)
	}
	return ParseConfig(b)
}

// ParseConfig is ReadConfig on bytes.
func ParseConfig(b []byte) (cfg guestconfig.Config, warning string, err error) {
	return parseConfig(b, guestconfig.Config.Validate)
}

// ParseConfigWSL is ParseConfig for a WSL2 distro (Config.ValidateWSL).
func ParseConfigWSL(b []byte) (cfg guestconfig.Config, warning string, err error) {
	return parseConfig(b, guestconfig.Config.ValidateWSL)
}

func parseConfig(b []byte, validate func(guestconfig.Config) error) (cfg guestconfig.Config, warning string, err error) {
	strict := json.NewDecoder(bytes.NewReader(b))
	strict.DisallowUnknownFields()
	if serr := strict.Decode(&cfg); serr != nil {
		cfg = guestconfig.Config{}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return cfg, "", fmt.Errorf("parsing machine config %s: %w", guestconfig.Path, err)
		}
		warning = fmt.Sprintf("machine config: %v (ignored)", serr)
	}
	if err := validate(cfg); err != nil {
		return cfg, warning, fmt.Errorf("machine config %s is invalid: %w", guestconfig.Path, err)
	}
	return cfg, warning, nil
}
