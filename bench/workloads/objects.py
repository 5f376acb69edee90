"""Object-oriented: many small methods, properties and object creation."""
import timed  # noqa: F401 (reports the run time)
import sys


class Vector:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    @property
    def length_squared(self):
        return self.dot(self)

    def dot(self, other):
        return self.x * other.x + self.y * other.y

    def add(self, other):
        return Vector(self.x + other.x, self.y + other.y)

    def scaled(self, k):
        return Vector(self.x * k, self.y * k)


class Particle:
    def __init__(self, position, velocity):
        self.position = position
        self.velocity = velocity

    @property
    def energy(self):
        return 0.5 * self.velocity.length_squared

    def step(self, dt):
        self.position = self.position.add(self.velocity.scaled(dt))


def simulate(particles, steps):
    total = 0.0
    for _ in range(steps):
        for particle in particles:
            particle.step(0.01)
            total += particle.energy
    return total


def main(steps):
    particles = [Particle(Vector(i, -i), Vector(1, 0.5 * i)) for i in range(10)]
    print("%.3f" % simulate(particles, steps))


main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
