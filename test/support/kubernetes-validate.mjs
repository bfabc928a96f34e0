// Validates Kubernetes objects offline against the API schemas and the CRDs snip uses (KEDA,
// Prometheus Operator), with the JSON schemas the kubernetes-models packages carry (decision 53).
// Reads a JSON array of objects on stdin; writes a JSON array of `{ object, errors }` for each one
// that fails, or has no schema here. Exit 0 either way (the caller judges); 2 on bad input.
// Run as its own node process: the models are ES modules only, which Jest cannot require.

/** The module of the model class for `apiVersion` and `kind`, or undefined when none is known. */
function modelModule(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === '') return `kubernetes-models/${version}/${kind}`;
  if (group === 'keda.sh') return `@kubernetes-models/keda/keda.sh/${version}/${kind}`;
  if (group === 'monitoring.coreos.com') {
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${kind}`;
  }
  if (group.includes('.') && !group.endsWith('.k8s.io')) return undefined;
  return `kubernetes-models/${group}/${version}/${kind}`;
}

async function validate(object) {
  const name = `${object.kind}/${object.metadata?.name ?? '?'}`;
  const path = modelModule(String(object.apiVersion), String(object.kind));
  if (path === undefined) return { object: name, errors: [`no schema for ${object.apiVersion}`] };
  let Model;
  try {
    Model = (await import(path))[object.kind];
  } catch {
    return { object: name, errors: [`no schema for ${object.apiVersion} ${object.kind}`] };
  }
  try {
    new Model(object).validate();
    return undefined;
  } catch (error) {
    return { object: name, errors: String(error.message).split(', ') };
  }
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
let objects;
try {
  objects = JSON.parse(input);
} catch (error) {
  process.stderr.write(`kubernetes-validate: stdin is not JSON: ${error.message}\n`);
  process.exit(2);
}
const failures = [];
for (const object of objects) {
  const failure = await validate(object);
  if (failure) failures.push(failure);
}
process.stdout.write(`${JSON.stringify(failures)}\n`);
