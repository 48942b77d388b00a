package httpapi

import (
	"errors"
	"sync"

	"github.com/flashsale/flashsale/generated"
	"github.com/getkin/kin-openapi/openapi3"
)

// ValidUserID says whether id is a user id as api/openapi.yaml's UserID
// schema has it, the one place that rule is written: a shop's token names
// its shopper in sub, which must be a user the API can be asked about.
func ValidUserID(id string) error {
	schema, err := userIDSchema()
	if err != nil {
		return err
	}
	var se *openapi3.SchemaError
	if err := schema.VisitJSON(id); err != nil {
		if errors.As(err, &se) {
			return errors.New(se.Reason)
		}
		return err
	}
	return nil
}

var userIDSchema = sync.OnceValues(func() (*openapi3.Schema, error) {
	spec, err := generated.GetSwagger()
	if err != nil {
		return nil, err
	}
	ref := spec.Components.Schemas["UserID"]
	if ref == nil || ref.Value == nil {
		return nil, errors.New("api/openapi.yaml has no UserID schema")
	}
	return ref.Value, nil
})
