package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConflictError(t *testing.T) {
	missing := &ConflictError{Collection: "reports", ID: "r1", Expected: 3, Op: 2}
	stale := &ConflictError{Collection: "reports", ID: "r1", Expected: 3, Have: 4}
	for _, tc := range []struct {
		err      *ConflictError
		text     string
		notFound bool
	}{
		{missing, "version conflict at op 2 (docs/reports/r1): expected version 3: the document does not exist", true},
		{stale, "version conflict: expected version 3, have 4", false},
	} {
		if got := tc.err.Error(); got != tc.text {
			t.Errorf("Error() = %q, want %q", got, tc.text)
		}
		wrapped := errors.Join(errors.New("context"), tc.err)
		if !errors.Is(wrapped, ErrConflict) {
			t.Errorf("%v: not ErrConflict", tc.err)
		}
		if errors.Is(wrapped, ErrNotFound) != tc.notFound {
			t.Errorf("%v: errors.Is(ErrNotFound) = %v, want %v", tc.err, !tc.notFound, tc.notFound)
		}
		if errors.Is(wrapped, ErrInvalid) {
			t.Errorf("%v matches ErrInvalid", tc.err)
		}
	}
}

func TestValidateOpsNamesTheBadOp(t *testing.T) {
	ops := []Op{
		PutOp("reports", "r1", []byte("secret body"), NewDoc),
		SetAddOp("open", "r1"),
		ScheduleOp("remind", "", time.Time{}),
	}
	err := ValidateOps(ops)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("ValidateOps: %v, want ErrInvalid", err)
	}
	if want := "op 3 of 3 (schedule remind/): "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
	if err := ValidateOps(ops[:2]); err != nil {
		t.Errorf("valid ops: %v", err)
	}
	// Op strings name what is written, never the data.
	if s := ops[0].String(); s != "put docs/reports/r1" || strings.Contains(s, "secret") {
		t.Errorf("String() = %q", s)
	}
	if err := (Op{}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero Op: %v, want ErrInvalid", err)
	}
}
