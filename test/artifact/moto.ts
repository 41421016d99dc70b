// moto in server mode: a real S3-compatible HTTP server on loopback, with IAM authentication on,
// so a wrong secret is refused as S3 refuses it. The first three requests (creating a user, its
// key and its policy) are the only unauthenticated ones moto allows.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { pythonTool } from "../pytools/tools.ts";

export interface Moto {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Everything moto logged (its request log lines show each answer's status, 206 for a range). */
  log(): string;
  stop(): Promise<void>;
}

const SETUP = `
import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
iam.create_user(UserName="fetcher")
key = iam.create_access_key(UserName="fetcher")["AccessKey"]
policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
iam.put_user_policy(UserName="fetcher", PolicyName="all", PolicyDocument=json.dumps(policy))
print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
`;

async function listening(child: ChildProcess, output: () => string): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output());
    if (m?.[1] !== undefined) return m[1];
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not start: ${output()}`);
}

export async function startMoto(serverBin: string): Promise<Moto> {
  const child = spawn(serverBin, ["-H", "127.0.0.1", "-p", "0"], {
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: "3" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (output += b.toString()));
  const endpoint = await listening(child, () => output);
  const python = join(dirname(serverBin), "python");
  const key = JSON.parse(execFileSync(python, ["-c", SETUP, endpoint], { encoding: "utf8" })) as {
    id: string;
    secret: string;
  };
  return {
    endpoint,
    accessKeyId: key.id,
    secretAccessKey: key.secret,
    log: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

/** moto from the test venv's s3 group, with `bucket` made, and an S3 client signed in to it. */
export async function startMotoBucket(bucket: string): Promise<{ moto: Moto; s3: S3Client }> {
  const tool = pythonTool("s3", "moto_server");
  if ("missing" in tool) throw new Error(tool.missing);
  const moto = await startMoto(tool.bin);
  const credentials = { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey };
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials,
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { moto, s3 };
}
