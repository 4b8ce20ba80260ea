/**
 * The deployment's secrets in Secrets Manager. The program never holds the TURN secret or the signing key: it
 * either references secrets the operator made (config robostream:secrets.*Arn) or creates EMPTY secret containers
 * that the operator fills with `aws secretsmanager put-secret-value` (docs/deploy-aws.md). Values therefore never
 * enter Pulumi state, user data or outputs.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { SecretsConfig } from '../config.js';

export class DeploymentSecrets extends pulumi.ComponentResource {
  /** SecretString: the TURN REST shared secret (printable ASCII, no spaces). */
  readonly turnSecretArn: pulumi.Output<string>;
  /** SecretString: PEM of the Ed25519 or P-256 private key that signs tokens. */
  readonly signingKeySecretArn: pulumi.Output<string>;
  /** Names of the secrets this program created and the operator must fill (empty when all were referenced). */
  readonly toFill: pulumi.Output<string>[] = [];

  constructor(name: string, cfg: SecretsConfig, opts?: pulumi.ComponentResourceOptions) {
    super('robostream:aws:Secrets', name, {}, opts);
    const stack = pulumi.getStack();
    const container = (id: string, description: string) => {
      const s = new aws.secretsmanager.Secret(
        `${name}-${id}`,
        { name: `robostream/${stack}/${id}`, description, recoveryWindowInDays: 7 },
        { parent: this },
      );
      this.toFill.push(s.name);
      return s.arn;
    };
    this.turnSecretArn = cfg.turnSecretArn
      ? pulumi.output(cfg.turnSecretArn)
      : container(
          'turn-secret',
          'TURN REST API shared secret (coturn static-auth-secret); value set by the operator',
        );
    this.signingKeySecretArn = cfg.signingKeySecretArn
      ? pulumi.output(cfg.signingKeySecretArn)
      : container(
          'signing-key',
          'PEM private key (Ed25519 or P-256) that signs robostream tokens; set by the operator',
        );
    this.registerOutputs({
      turnSecretArn: this.turnSecretArn,
      signingKeySecretArn: this.signingKeySecretArn,
    });
  }
}
