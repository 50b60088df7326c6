package heartbeat

// The internals the package's external tests (package heartbeat_test) use. Those tests
// are external because they run on heartbeattest's in-memory backend, which imports this
// package.
var (
	ErrNotClean     = errNotClean
	BadFrame        = badFrame
	MaxConfigSize   = maxConfigSize
	MaxInFlight     = maxInFlight
	SampleRecord    = testRecord
	PeerRecord      = rec
	SampleConfig    = testConfig
	ExerciseBackend = exerciseBackend
)
