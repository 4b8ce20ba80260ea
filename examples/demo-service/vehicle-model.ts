/**
 * A differential-drive vehicle, simulated: integrates linear and angular speed into a pose, drains a battery
 * faster while moving. Pure state and arithmetic, so the demo service and tests share it.
 */
export interface Pose {
  /** metres */
  x: number;
  y: number;
  /** radians, counter-clockwise from +x, in (-pi, pi] */
  theta: number;
}

export class VehicleModel {
  pose: Pose = { x: 0, y: 0, theta: 0 };
  linear = 0;
  angular = 0;
  percent = 97.5;
  /** Metres travelled in total (odometer). */
  distance = 0;

  setSpeed(linear: number, angular: number): void {
    this.linear = linear;
    this.angular = angular;
  }

  /** Advances by dt seconds (exact arc for constant speeds, so the pose does not drift with the step size). */
  step(dt: number): void {
    const { linear: v, angular: w } = this;
    const p = this.pose;
    if (Math.abs(w) < 1e-9) {
      p.x += v * dt * Math.cos(p.theta);
      p.y += v * dt * Math.sin(p.theta);
    } else {
      const th = p.theta + w * dt;
      p.x += (v / w) * (Math.sin(th) - Math.sin(p.theta));
      p.y -= (v / w) * (Math.cos(th) - Math.cos(p.theta));
      p.theta = Math.atan2(Math.sin(th), Math.cos(th));
    }
    this.distance += Math.abs(v) * dt;
    const moving = v !== 0 || w !== 0;
    this.percent = Math.max(5, this.percent - dt * (moving ? 0.05 + 0.1 * Math.abs(v) : 0.01));
  }

  get voltage(): number {
    // A 6-cell pack: about linear in charge between 21 and 25.2 V.
    return 21 + (25.2 - 21) * (this.percent / 100);
  }
}
