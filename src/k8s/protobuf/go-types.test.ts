import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseGoPackage } from './go-types.js';

const TYPES_GO = `package v1

// Probe describes a health check.
type Probe struct {
	// The action taken; inlined in JSON.
	ProbeHandler \`json:",inline" protobuf:"bytes,1,opt,name=handler"\`
	// +optional
	InitialDelaySeconds int32 \`json:"initialDelaySeconds,omitempty" protobuf:"varint,2,opt,name=initialDelaySeconds"\`
	TimeoutSeconds *int32 \`json:"timeoutSeconds,omitempty" protobuf:"varint,3,opt,name=timeoutSeconds"\` // trailing comment
	Port int32 \`json:"port" protobuf:"varint,4,opt,name=port"\`
	metav1.TypeMeta \`json:",inline"\`
	UID types.UID \`json:"uid,omitempty" protobuf:"bytes,5,opt,name=uID,casttype=k8s.io/apimachinery/pkg/types.UID"\`
	Raw []byte \`json:"-" protobuf:"bytes,6,opt,name=raw"\`
	NoJSONTag string \`protobuf:"bytes,7,opt,name=noJSONTag"\`
	ContainerCommon \`json:",inline" protobuf:"bytes,8,req"\`
	Nested struct {
		Inner string \`json:"inner" protobuf:"bytes,1,opt,name=inner"\`
	} \`json:"nested"\`
}

type ExtraValue []string

func (t Time) MarshalJSON() ([]byte, error) { return nil, nil }
func (t *MicroTime) MarshalJSON() ([]byte, error) { return nil, nil }
`;

const REGISTER_GO = `package v1
const GroupName = "apps"
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1"}
`;

describe('the Go types of a Kubernetes API package', () => {
  test('struct fields by protobuf name: JSON name, omitempty, inline, pointer', () => {
    const go = parseGoPackage([TYPES_GO, REGISTER_GO]);
    const probe = go.structs.get('Probe')!;
    assert.deepEqual(probe.get('handler'), { goName: 'ProbeHandler', jsonName: '', omitempty: false, inline: true, pointer: false });
    assert.deepEqual(probe.get('initialDelaySeconds'), { goName: 'InitialDelaySeconds', jsonName: 'initialDelaySeconds', omitempty: true, inline: false, pointer: false });
    assert.deepEqual(probe.get('timeoutSeconds'), { goName: 'TimeoutSeconds', jsonName: 'timeoutSeconds', omitempty: true, inline: false, pointer: true });
    assert.equal(probe.get('port')!.omitempty, false);
    assert.equal(probe.get('uID')!.jsonName, 'uid');
    assert.equal(probe.get('raw')!.jsonName, '-');
    assert.equal(probe.get('noJSONTag')!.jsonName, 'NoJSONTag');
    assert.equal(probe.get('containerCommon')!.inline, true, 'a protobuf tag without name= names the field after the Go field');
    // Fields without a protobuf tag (TypeMeta) are not in the message; a nested struct's fields are not the parent's.
    assert.deepEqual([...probe.keys()], ['handler', 'initialDelaySeconds', 'timeoutSeconds', 'port', 'uID', 'raw', 'noJSONTag', 'containerCommon']);
  });

  test('slice types, JSON marshalers and the group version', () => {
    const go = parseGoPackage([TYPES_GO, REGISTER_GO]);
    assert.deepEqual([...go.sliceTypes], ['ExtraValue']);
    assert.deepEqual([...go.jsonMarshalers], ['Time', 'MicroTime']);
    assert.deepEqual(go.groupVersion, { group: 'apps', version: 'v1' });
    assert.equal(parseGoPackage([TYPES_GO]).groupVersion, undefined);
  });
});
