// Package architecture holds no code. Its test holds the tree to its plan:
// which floor each package stands on, so that every import goes down and
// none runs back up; the domain on the standard library alone; the load tool
// beside the service, using it only through its API; and the packages that
// support tests out of the service.
//
// A new package gets its floor here, in floors, by a deliberate choice.
package architecture
