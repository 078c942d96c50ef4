"""RaveForce: Gymnasium environments for music rendered by SuperCollider."""
