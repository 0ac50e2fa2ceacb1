"""Request bodies taken verbatim from the API reference (shared/api-reference.md)."""

CREATE_SCRIPT = {
    "name": "New Automation Script",
    "description": "Description of the automation",
    "category": "productivity",
    "tags": ["email", "automation"],
    "nodes": [
        {
            "id": "node_1",
            "type": "app_launch",
            "config": {"package_name": "com.google.android.gm", "wait_time": 3000},
            "position": {"x": 100, "y": 100},
        }
    ],
    "connections": [],
    "variables": {},
    "settings": {
        "execution_timeout": 300000,
        "retry_on_failure": True,
        "max_retries": 3,
    },
}

INSTAGRAM_NODES = [
    {
        "id": "node_1",
        "type": "app_launch",
        "config": {"package_name": "com.instagram.android", "wait_time": 3000},
        "position": {"x": 100, "y": 100},
    },
    {
        "id": "node_2",
        "type": "image_detection",
        "config": {"target_image": "heart_icon.png", "threshold": 0.8, "timeout": 5000},
        "position": {"x": 200, "y": 100},
    },
    {
        "id": "node_3",
        "type": "click",
        "config": {"target": "detected_element", "duration": 100},
        "position": {"x": 300, "y": 100},
    },
]

INSTAGRAM_CONNECTIONS = [
    {"from": "node_1", "to": "node_2"},
    {"from": "node_2", "to": "node_3"},
]

INSTAGRAM_SCRIPT = {
    "name": "Instagram Auto-Like",
    "description": "Automatically like posts in Instagram feed",
    "category": "social_media",
    "tags": ["instagram", "like", "automation"],
    "nodes": INSTAGRAM_NODES,
    "connections": INSTAGRAM_CONNECTIONS,
    "variables": {"like_count": 0, "max_likes": 10},
    "settings": {
        "execution_timeout": 300000,
        "retry_on_failure": True,
        "max_retries": 3,
    },
}

UPDATE_SCRIPT = {
    "name": "Updated Script Name",
    "description": "Updated description",
    "nodes": INSTAGRAM_NODES,
    "connections": INSTAGRAM_CONNECTIONS,
}
