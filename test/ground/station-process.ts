// A ground station's MQTT session in a process of its own, for the test that kills it (SIGKILL):
// `node station-process.ts <broker url> <station id>` prints "connected" once the session is up.
import { RealClock } from '../../common/index.ts';
import { GroundMqttClient } from '../../ground/index.ts';

const [brokerUrl, stationId] = process.argv.slice(2);
if (brokerUrl === undefined || stationId === undefined) throw new Error('usage: station-process.ts <broker url> <station id>');
const client = new GroundMqttClient({ brokerUrl, stationId, clock: new RealClock() });
client.start();
await client.whenConnected();
process.stdout.write('connected\n');
